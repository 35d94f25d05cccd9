import test from 'ava';
import fc from 'fast-check';
import {
  compareSemver,
  describeIssues,
  releaseDigest,
  releaseManifestSchema,
  satisfiesRange,
  validate,
} from '../../../src/protocol/index.js';

const manifest = (spec: Record<string, unknown>, name = 'tilt') => ({ apiVersion: 'edgepilot.io/v1', kind: 'Release', metadata: { name }, spec });
const good = {
  version: '2.1.0',
  workloads: { 'tilt-reader': { runtime: 'container', image: 'local/tilt:2.1.0' } },
  firmware: [{ mcuModel: 'stm32f103', version: '2.1.0', sha256: 'ab'.repeat(32) }],
  compatibility: [{ workload: 'tilt-reader', requiresFirmware: { mcuModel: 'stm32f103', versionRange: '>=2.0.0 <3.0.0' } }],
};
const error = (value: unknown): string => {
  const r = validate(releaseManifestSchema, value);
  return r.ok ? 'ok' : r.error;
};

test('a release: workloads reuse the template schema (defaults filled), firmware by model and sha256, constraints', (t) => {
  const r = releaseManifestSchema.parse(manifest(good));
  t.is(r.spec.workloads['tilt-reader']?.restartPolicy, 'Always');
  t.deepEqual(releaseManifestSchema.parse(JSON.parse(JSON.stringify(r))), r, 're-parsing a parsed release changes nothing');
});

test('release validation messages name the field', (t) => {
  t.is(error(manifest({ ...good, version: '2.1' })), 'spec.version: must be a semantic version such as 2.1.0');
  t.is(error(manifest(good, 'previous')), 'metadata.name: "previous" is a reserved word (all, none, current, previous, latest, default); choose another name');
  t.is(error(manifest(good, 'Tilt')), 'metadata.name: must be lowercase letters, digits and -, at most 63 characters');
  t.is(error(manifest({ ...good, workloads: { 'tilt-reader': { runtime: 'container' } } })), 'spec.workloads.tilt-reader.image: Invalid input: expected string, received undefined');
  t.is(error(manifest({ ...good, firmware: [...good.firmware, { ...good.firmware[0] }] })), 'spec.firmware.1.mcuModel: stm32f103 is already flashed by firmware[0]');
  t.is(error(manifest({ ...good, firmware: [{ ...good.firmware[0], sha256: 'xyz' }] })), 'spec.firmware.0.sha256: must be 64 lower-case hex digits');
  t.is(
    error(manifest({ ...good, compatibility: [{ workload: 'tilt-reader', requiresFirmware: { mcuModel: 'stm32f103', versionRange: '>=2.0' } }] })),
    'spec.compatibility.0.requiresFirmware.versionRange: ">=2.0" is not a comparator (e.g. >=2.0.0, <3.0.0, =2.1.0)',
  );
  t.is(
    error(manifest({ ...good, compatibility: [{ workload: 'tilt-reader', requiresFirmware: { mcuModel: 'stm32f103', versionRange: '>=3.0.0' } }] })),
    'spec.compatibility.0.requiresFirmware.versionRange: this release flashes stm32f103 2.1.0, which does not satisfy ">=3.0.0"',
  );
  t.is(error(manifest({ ...good, compatibility: [{ ...good.compatibility[0], workload: 'other' }] })), 'spec.compatibility.0.workload: workload "other" is not in this release');
  t.is(error(manifest({ version: '1.0.0' })), 'spec.workloads: a release needs at least one workload or firmware image');
});

test('the release digest: stable over key order and spelled-out defaults, different for any change of content', (t) => {
  const a = releaseManifestSchema.parse(manifest(good));
  const reordered = releaseManifestSchema.parse(JSON.parse(JSON.stringify({ spec: { compatibility: good.compatibility, firmware: good.firmware, workloads: good.workloads, version: good.version }, metadata: { name: 'tilt' }, kind: 'Release', apiVersion: 'edgepilot.io/v1' })));
  const spelled = releaseManifestSchema.parse(manifest({ ...good, workloads: { 'tilt-reader': { runtime: 'container', image: 'local/tilt:2.1.0', restartPolicy: 'Always', args: [] } } }));
  const labelled = releaseManifestSchema.parse({ ...manifest(good), metadata: { name: 'tilt', labels: { team: 'line' } } });
  t.regex(releaseDigest(a), /^sha256:[0-9a-f]{64}$/);
  t.is(releaseDigest(reordered), releaseDigest(a));
  t.is(releaseDigest(spelled), releaseDigest(a));
  t.is(releaseDigest(labelled), releaseDigest(a), 'labels describe, they do not change what runs');
  t.not(releaseDigest(releaseManifestSchema.parse(manifest({ ...good, firmware: [{ ...good.firmware[0], sha256: 'cd'.repeat(32) }] }))), releaseDigest(a));
  t.not(releaseDigest(releaseManifestSchema.parse(manifest(good, 'tilt-b'))), releaseDigest(a));
  t.not(releaseDigest(releaseManifestSchema.parse(manifest({ ...good, version: '2.1.1' }))), releaseDigest(a));
});

test('version ranges: comparators, AND by spaces, OR by ||, pre-releases below their release', (t) => {
  t.true(satisfiesRange('2.1.0', '>=2.0.0'));
  t.true(satisfiesRange('2.1.0', '>= 2.0.0 <3.0.0'));
  t.false(satisfiesRange('3.0.0', '>=2.0.0 <3.0.0'));
  t.true(satisfiesRange('1.4.2', '<1.5.0 || >=2.0.0'));
  t.true(satisfiesRange('2.0.0', '=2.0.0'));
  t.true(satisfiesRange('2.0.0', '2.0.0'));
  t.false(satisfiesRange('2.0.0-rc.1', '>=2.0.0'));
  t.false(satisfiesRange('not-a-version', '>=0.0.0'));
  t.true(compareSemver('2.0.0-rc.2', '2.0.0-rc.10') < 0);
});

test('any valid release re-parses to itself and keeps its digest (stored releases are canonical)', (t) => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.constantFrom('tilt-reader', 'logger', 'web'), fc.record({ runtime: fc.constant('process'), command: fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 3 }) }), { minKeys: 1 }),
      fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20)).map(([a, b, c]) => `${a}.${b}.${c}`),
      (workloads, version) => {
        const parsed = releaseManifestSchema.parse(manifest({ version, workloads }));
        const again = releaseManifestSchema.parse(JSON.parse(JSON.stringify(parsed)));
        t.deepEqual(again, parsed);
        t.is(releaseDigest(again), releaseDigest(parsed));
      },
    ),
    { numRuns: 100 },
  );
});

test('describeIssues is what the CLI prints: at most five issues on one line', (t) => {
  const r = releaseManifestSchema.safeParse(manifest({ version: 'x', firmware: [{}] }));
  t.false(r.success);
  if (!r.success) t.regex(describeIssues(r.error.issues), /^spec\.version: must be a semantic version/);
});
