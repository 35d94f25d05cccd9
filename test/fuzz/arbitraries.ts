import fc from 'fast-check';

/** Arbitraries shared by the fuzz tier: names, labels, quantities and manifests. */

/** Words that are members of every plain object, and other names that once broke a store. */
export const reservedWords = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'tostring', 'undefined', 'null', 'NaN'];
export const oddStrings = ['', ' ', '.', '..', '%', '/', '\u0000', 'a\u0000b', '\u202eevil', 'مرحبا', '名前', '😀', 'a'.repeat(64), 'a'.repeat(5000), '-a', 'a-', 'A'];

export const validName = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?$/);
/** Ids and names: valid ones (a small pool, so creates and deletes meet), reserved words, odd strings, anything. */
export const nameArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom('web', 'cam', 'constructor', 'prototype', 'valueof') },
  { weight: 2, arbitrary: validName },
  { weight: 3, arbitrary: fc.constantFrom(...reservedWords, ...oddStrings) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

export const labelKeyArb = fc.oneof(fc.constantFrom('zone', 'topology.edgepilot.io/zone', 'constructor', '__proto__', 'toString', 'a/b/c', ''), fc.string({ maxLength: 20 }));
export const labelValueArb = fc.oneof(fc.constantFrom('line-2', '', 'x'.repeat(70), '\u0000'), fc.string({ maxLength: 20 }));
export const labelsArb = fc.dictionary(labelKeyArb, labelValueArb, { maxKeys: 4 });

export const quantityArb = fc.oneof(
  fc.constantFrom('64Mi', '1G', '-64Mi', '1e3', '0.5', '500m', '', 'NaN', '1Ki', '99999999999999999999Ti', '1.5.5', ' 2 '),
  fc.string({ maxLength: 10 }),
  fc.double(),
  fc.integer(),
);
export const resourcesArb = fc.record({ cpu: quantityArb, memory: quantityArb }, { requiredKeys: [] });

/** Manifests the hub should accept (names still include Object's member names). */
export const plausibleManifestArb = fc.record({
  apiVersion: fc.constant('edgepilot.io/v1'),
  kind: fc.constant('Workload'),
  metadata: fc.record({ name: fc.oneof(fc.constantFrom('web', 'cam', 'constructor', 'prototype', 'valueof', 'hasownproperty'), validName), labels: fc.dictionary(fc.constantFrom('zone', 'constructor', 'tostring', 'edgepilot.io/role'), fc.constantFrom('a', 'line-2', '')) }),
  spec: fc.record({
    replicas: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant('all')),
    selector: fc.record({ matchLabels: fc.dictionary(fc.constantFrom('zone', 'constructor', 'tostring'), fc.constantFrom('a', 'b'), { maxKeys: 1 }) }),
    template: fc.record({
      runtime: fc.constant('process'),
      command: fc.constant(['/bin/true']),
      resources: fc.record({ limits: fc.record({ cpu: fc.constantFrom('500m', '0.5', 1, '2'), memory: fc.constantFrom('64Mi', '1G', 1048576, '512Ki') }, { requiredKeys: [] }) }, { requiredKeys: [] }),
    }),
  }),
});

export const wildManifestArb = fc.record(
  {
    apiVersion: fc.constantFrom('edgepilot.io/v1', 'edgepilot.io/v1', 'v1'),
    kind: fc.constantFrom('Workload', 'Workload', 'Workload', 'Deployment', '__proto__'),
    metadata: fc.record({ name: nameArb, labels: labelsArb }, { requiredKeys: ['name'] }),
    spec: fc.record(
      {
        replicas: fc.oneof(fc.integer({ min: -3, max: 12 }), fc.constant('all'), fc.double(), fc.string({ maxLength: 5 }), fc.constant(1e9)),
        selector: fc.record({ matchLabels: labelsArb }),
        template: fc.record(
          {
            runtime: fc.constantFrom('process', 'container', 'vm'),
            command: fc.constantFrom(['/bin/true'], [], 'true'),
            image: fc.constantFrom('local/busybox:latest', '', '__proto__'),
            resources: fc.record({ limits: resourcesArb, requests: resourcesArb }, { requiredKeys: [] }),
            env: fc.dictionary(fc.constantFrom('A', '__proto__', 'constructor', ''), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
          },
          { requiredKeys: ['runtime'] },
        ),
      },
      { requiredKeys: ['template'] },
    ),
  },
  { requiredKeys: ['kind', 'metadata'] },
);

export const manifestArb = fc.oneof({ weight: 3, arbitrary: plausibleManifestArb }, { weight: 2, arbitrary: wildManifestArb });

/** Fuzz runs: the seed is printed by every run; EDGEPILOT_FUZZ_SEED reproduces it, EDGEPILOT_FUZZ_RUNS runs longer. */
export const fuzzSeed = Number(process.env['EDGEPILOT_FUZZ_SEED'] ?? Date.now() % 2 ** 31);
export const fuzzRuns = (perCase: number): number => Number(process.env['EDGEPILOT_FUZZ_RUNS'] ?? perCase);
