import test from 'ava';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { resourceOptions } from '../../../src/device-agent/runtime/docker/container-spec.js';
import {
  desiredStateSchema,
  formatCpuMillis,
  formatMemoryBytes,
  MAX_CPU_MILLIS,
  MAX_MEMORY_BYTES,
  MIN_CPU_LIMIT_MILLIS,
  parseCpuQuantity,
  parseMemoryQuantity,
  templateSchema,
  workloadManifestSchema,
  workloadSpecSchema,
  type Template,
} from '../../../src/protocol/index.js';

const MiB = 2 ** 20;

/** Ways a person writes `millis` in YAML: `500m`, `0.5`, `"0.50"`, `2`. */
function cpuSpellings(millis: number): string[] {
  const whole = Math.floor(millis / 1000);
  const fraction = String(millis % 1000).padStart(3, '0');
  const trimmed = fraction.replace(/0+$/, '');
  const cores = trimmed === '' ? String(whole) : `${whole}.${trimmed}`;
  return [`${millis}m`, cores, `"${whole}.${fraction}"`, `"${millis}m"`];
}

/** Ways to write `bytes`: plain, and every suffix that divides it exactly (`64Mi`, `0.5Gi`, `1G`). */
function memorySpellings(bytes: number): string[] {
  const out = [String(bytes), `"${bytes}"`];
  for (const [suffix, factor] of [['Ki', 2 ** 10], ['Mi', 2 ** 20], ['Gi', 2 ** 30], ['Ti', 2 ** 40], ['k', 1e3], ['M', 1e6], ['G', 1e9], ['T', 1e12]] as const) {
    if (bytes % factor === 0) out.push(`${bytes / factor}${suffix}`);
    // Halves are exact for binary suffixes: 1.5Gi is a whole number of bytes.
    else if (factor >= 2 ** 10 && (bytes * 2) % factor === 0 && Number.isInteger(factor / 2)) out.push(`${bytes / factor}${suffix}`);
  }
  return out;
}

// Limits start at 10m (the smallest a runtime enforces); the same value is used as the request.
const cpuMillis = fc.integer({ min: MIN_CPU_LIMIT_MILLIS, max: MAX_CPU_MILLIS });
const memoryBytes = fc.oneof(fc.bigInt({ min: 1n, max: BigInt(MAX_MEMORY_BYTES) }).map(Number), fc.integer({ min: 1, max: 16 * 2 ** 20 }).map((n) => n * 2 ** 20));

function manifestYaml(cpu: string, memory: string): string {
  return [
    'apiVersion: edgepilot.io/v1',
    'kind: Workload',
    'metadata: { name: q }',
    'spec:',
    '  template:',
    '    runtime: container',
    '    image: local/busybox:latest',
    '    resources:',
    `      requests: { cpu: ${cpu}, memory: ${memory} }`,
    `      limits: { cpu: ${cpu}, memory: ${memory} }`,
  ].join('\n');
}

/** JSON on the wire or on disk, then the receiver's schema: what the hub, the API and the agent do. */
const overTheWire = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

test('a quantity keeps its meaning from manifest to hub, API, desired document, agent and Docker', (t) => {
  fc.assert(
    fc.property(
      cpuMillis.chain((m) => fc.tuple(fc.constant(m), fc.constantFrom(...cpuSpellings(m)))),
      memoryBytes.chain((b) => fc.tuple(fc.constant(b), fc.constantFrom(...memorySpellings(b)))),
      ([millis, cpuText], [bytes, memoryText]) => {
        // The CLI: YAML text → manifest schema (YAML types `0.5` and `2` as numbers, `500m` as text).
        const written: unknown = parseYaml(manifestYaml(cpuText, memoryText));
        const manifest = workloadManifestSchema.parse(written);
        const expected = { cpuMillis: millis, memoryBytes: bytes };
        t.deepEqual(manifest.spec.template.resources.limits, expected);
        t.deepEqual(manifest.spec.template.resources.requests, expected);
        // The hub checks the document as the CLI sent it (POST /v1/apply), then serves the stored
        // spec to the CLI: parsed twice more, in canonical form.
        const applied = workloadManifestSchema.parse(overTheWire(written));
        t.deepEqual(applied, manifest);
        const served = workloadSpecSchema.parse(overTheWire(workloadSpecSchema.parse(overTheWire(applied.spec))));
        t.deepEqual(served, manifest.spec);
        // The desired document, received by the agent and re-read from its local copy after a reboot.
        const desired = { generation: 1, issuedAt: '2026-01-01T00:00:00.000Z', instances: [{ id: 'q-1', workload: 'q', revision: 'abcdef12', template: served.template }] };
        const received = desiredStateSchema.parse(overTheWire(desiredStateSchema.parse(overTheWire(desired))));
        const template: Template = received.instances[0]!.template;
        t.deepEqual(template, manifest.spec.template);
        t.deepEqual(templateSchema.parse(template), template, 'canonical parsing is a no-op');
        // Docker: the limit in billionths of a CPU and in bytes, the weight 1024 per CPU.
        const options = resourceOptions(template.resources);
        t.is(options.NanoCpus, millis * 1_000_000);
        t.is(options.Memory, bytes);
        t.is(options.MemorySwap, bytes);
        t.is(options.MemoryReservation, bytes);
        t.is(options.CpuShares, Math.min(262_144, Math.max(2, Math.round((millis * 1024) / 1000))));
      },
    ),
    { numRuns: 300 },
  );
});

test('the README example: 500m is half a CPU and 64Mi is 64 MiB, however often it is parsed', (t) => {
  const manifest = workloadManifestSchema.parse(parseYaml(manifestYaml('500m', '64Mi')));
  let spec = manifest.spec;
  for (let i = 0; i < 3; i++) spec = workloadSpecSchema.parse(overTheWire(spec));
  t.deepEqual(spec.template.resources.limits, { cpuMillis: 500, memoryBytes: 64 * MiB });
  t.like(resourceOptions(spec.template.resources), { NanoCpus: 500_000_000, Memory: 64 * MiB, CpuShares: 512 });
});

test('formatting and parsing are inverse: describe shows what parses back to the same value', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: MAX_CPU_MILLIS }), (m) => {
      t.deepEqual(parseCpuQuantity(formatCpuMillis(m)), { ok: true, value: m });
    }),
  );
  fc.assert(
    fc.property(memoryBytes, (b) => {
      t.deepEqual(parseMemoryQuantity(formatMemoryBytes(b)), { ok: true, value: b });
    }),
  );
  t.is(formatCpuMillis(500), '500m');
  t.is(formatCpuMillis(2000), '2');
  t.is(formatMemoryBytes(64 * MiB), '64Mi');
  t.is(formatMemoryBytes(1536 * 1024), '1536Ki');
  t.is(formatMemoryBytes(1000), '1000');
});

test('the canonical form refuses manifest notation, so it can never be read in the wrong unit', (t) => {
  const template = { runtime: 'container', image: 'a', resources: { limits: { cpu: 500 } } };
  t.false(templateSchema.safeParse(template).success);
  t.false(templateSchema.safeParse({ ...template, resources: { limits: { cpuMillis: '500m' } } }).success);
  t.false(templateSchema.safeParse({ ...template, resources: { limits: { cpuMillis: 0.5 } } }).success);
});

function cpuMessage(input: unknown): string {
  const r = workloadManifestSchema.safeParse({
    apiVersion: 'edgepilot.io/v1',
    kind: 'Workload',
    metadata: { name: 'q' },
    spec: { template: { runtime: 'container', image: 'a', resources: { requests: { cpu: input } } } },
  });
  return r.success ? '' : r.error.issues.map((i) => i.message).join('; ');
}

test('nonsense quantities are refused with the reason', (t) => {
  const cases: [unknown, RegExp][] = [
    ['-1', /^"-1" is not a CPU quantity \(e\.g\. 500m, 0\.5, 2\); it must not be negative$/],
    [-0.5, /must not be negative/],
    [Number.NaN, /"NaN" is not a CPU quantity .*finite/],
    [Number.POSITIVE_INFINITY, /finite/],
    ['1e400', /^"1e400" is not a CPU quantity \(e\.g\. 500m, 0\.5, 2\)$/],
    // What YAML makes of `cpu: 1e400`.
    [(parseYaml('cpu: 1e400') as { cpu: unknown }).cpu, /finite/],
    ['', /^"" is not a CPU quantity/],
    ['٥٠٠m', /is not a CPU quantity/],
    ['５００m', /is not a CPU quantity/],
    [0.0001, /whole number of millicores \(at least 1m\)/],
    ['0.0001', /whole number of millicores/],
    ['1.5m', /whole number of millicores/],
    ['1025', /at most 1024 \(cores\)/],
    [1e21, /at most 1024/],
    ['500 m', /is not a CPU quantity/],
    [true, /^true is not a CPU quantity/],
    [{ m: 1 }, /is not a CPU quantity/],
  ];
  for (const [input, expected] of cases) t.regex(cpuMessage(input), expected, JSON.stringify(input));
  const memory = (input: unknown) => parseMemoryQuantity(input);
  t.deepEqual(memory('-64Mi'), { ok: false, reason: 'it must not be negative' });
  t.deepEqual(memory('17Ti'), { ok: false, reason: 'it must be at most 16Ti' });
  t.deepEqual(memory('0.3'), { ok: false, reason: 'it must be a whole number of bytes' });
  t.deepEqual(memory('1.5Gi'), { ok: true, value: 1.5 * 2 ** 30 });
  t.deepEqual(memory('1G'), { ok: true, value: 1e9 });
  t.deepEqual(memory('64Mb'), { ok: false });
});

test('a CPU number counts cores exactly, without floating-point drift', (t) => {
  t.deepEqual(parseCpuQuantity(0.3), { ok: true, value: 300 });
  t.deepEqual(parseCpuQuantity(1.005), { ok: true, value: 1005 });
  t.deepEqual(parseCpuQuantity('0.1'), { ok: true, value: 100 });
  t.deepEqual(parseCpuQuantity(2), { ok: true, value: 2000 });
});

test('any input is either a quantity within bounds or refused with a message; nothing throws', (t) => {
  fc.assert(
    // `undefined` is an absent field, which is allowed.
    fc.property(fc.oneof(fc.string(), fc.double(), fc.integer(), fc.anything(), fc.stringMatching(/^-?[0-9.]{0,12}(m|[KMGT]i?|k)?$/)).filter((x) => x !== undefined), (input) => {
      for (const [parse, max] of [[parseCpuQuantity, MAX_CPU_MILLIS], [parseMemoryQuantity, MAX_MEMORY_BYTES]] as const) {
        const result = parse(input);
        if (result.ok) {
          t.true(Number.isSafeInteger(result.value) && result.value >= 0 && result.value <= max);
        }
      }
      const message = cpuMessage(input);
      if (parseCpuQuantity(input).ok) t.is(message, '');
      else t.regex(message, /is not a CPU quantity/);
    }),
    { numRuns: 2000 },
  );
});

test('limits of 0 and requests above limits are refused, naming the field', (t) => {
  const manifest = (resources: unknown) =>
    workloadManifestSchema.safeParse({ apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'q' }, spec: { template: { runtime: 'container', image: 'a', resources } } });
  const zero = manifest({ limits: { cpu: '0', memory: 0 } });
  t.deepEqual(zero.error?.issues.map((i) => i.path.join('.')), ['spec.template.resources.limits.cpu', 'spec.template.resources.limits.memory']);
  const over = manifest({ requests: { cpu: '1', memory: '128Mi' }, limits: { cpu: '500m', memory: '64Mi' } });
  t.deepEqual(over.error?.issues.map((i) => i.message), ['requests.cpu 1 is more than limits.cpu 500m', 'requests.memory 128Mi is more than limits.memory 64Mi']);
  t.true(manifest({ requests: { cpu: 0, memory: 0 } }).success, 'a request of 0 is fine');
});

test('a CPU limit below 10m is refused; one above the engine\'s CPUs becomes the engine\'s CPU count', (t) => {
  const manifest = workloadManifestSchema.safeParse({
    apiVersion: 'edgepilot.io/v1',
    kind: 'Workload',
    metadata: { name: 'q' },
    spec: { template: { runtime: 'container', image: 'a', resources: { limits: { cpu: '5m' } } } },
  });
  t.is(manifest.error?.issues[0]?.message, '5m is below the smallest CPU limit, 10m');
  const resources = { requests: {}, limits: { cpuMillis: 4000 }, devices: {} };
  t.is(resourceOptions(resources, 2).NanoCpus, 2_000_000_000);
  t.is(resourceOptions(resources, 8).NanoCpus, 4_000_000_000);
  t.is(resourceOptions(resources).NanoCpus, 4_000_000_000, 'unknown engine: as asked');
});
