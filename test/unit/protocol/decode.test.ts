import test from 'ava';
import * as z from 'zod';
import { decodePayload, factsSchema, statusSchema, joinRequestSchema, workloadManifestSchema, validate } from '../../../src/protocol/index.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

test('payloads over the bound are refused before parsing', (t) => {
  const result = decodePayload(statusSchema, Buffer.alloc(3000, 0x20), 2048);
  t.deepEqual(result, { ok: false, error: 'payload of 3000 bytes exceeds the limit of 2048' });
});

test('non-JSON and schema violations name the problem and the field', (t) => {
  const notJson = decodePayload(statusSchema, 'nope', 2048);
  t.false(notJson.ok);
  t.regex(notJson.ok ? '' : notJson.error, /^payload is not JSON/);
  const wrong = decodePayload(factsSchema, JSON.stringify({ ...gatewayFacts(), cpu: { model: 'x', cores: 0 } }), 65536);
  t.false(wrong.ok);
  t.regex(wrong.ok ? '' : wrong.error, /^cpu\.cores: /);
});

test('unknown fields are refused (strict objects), so typos do not pass silently', (t) => {
  const result = decodePayload(factsSchema, JSON.stringify({ ...gatewayFacts(), cpus: 4 }), 65536);
  t.false(result.ok);
  t.regex(result.ok ? '' : result.error, /cpus/);
});

test('a well-formed join request is accepted and a malformed token is not', (t) => {
  const proof = { publicKey: `MCowBQYDK2VwAyEA${'A'.repeat(43)}=`, timestamp: 1_764_000_000_000, signature: `${'s'.repeat(86)}==` };
  const request = { token: 'abc123.' + 'x'.repeat(32), hardwareId: 'machine-id:0123456789', hostname: 'h', agentVersion: '0.1.0', facts: gatewayFacts(), ...proof };
  t.true(validate(joinRequestSchema, request).ok);
  const bad = validate(joinRequestSchema, { ...request, token: 'nope' });
  t.false(bad.ok);
  t.regex(bad.ok ? '' : bad.error, /^token: malformed join token/);
});

test('workload manifests: quantities parse, negatives and missing images are named', (t) => {
  const base = { apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'tilt' }, spec: { template: { runtime: 'container', image: 'local/busybox:latest', resources: { limits: { memory: '64Mi', cpu: '500m' } } } } };
  const ok = validate(workloadManifestSchema, base);
  t.true(ok.ok);
  if (ok.ok) {
    t.is(ok.value.spec.template.resources.limits.memoryBytes, 64 * 2 ** 20);
    t.is(ok.value.spec.template.resources.limits.cpuMillis, 500);
    t.is(ok.value.spec.replicas, 'all');
  }
  const negative = validate(workloadManifestSchema, { ...base, spec: { template: { ...base.spec.template, resources: { limits: { memory: '-5Mi' } } } } });
  t.regex(negative.ok ? '' : negative.error, /^spec\.template\.resources\.limits\.memory: .*must not be negative/);
  const noImage = validate(workloadManifestSchema, { ...base, spec: { template: { runtime: 'container' } } });
  t.regex(noImage.ok ? '' : noImage.error, /^spec\.template\.image: /);
});

const manifest = (spec: Record<string, unknown>) => ({ apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'tilt' }, spec: { template: { runtime: 'container', image: 'a' }, ...spec } });

test('replicas that are not a count say what is accepted, not "Invalid input"', (t) => {
  const cases: [unknown, string][] = [
    [1.5, 'spec.replicas: 1.5 is not a whole number; use an integer 0–100000 or "all"'],
    [-1, 'spec.replicas: -1 is out of range; use an integer 0–100000 or "all"'],
    [100_001, 'spec.replicas: 100001 is out of range; use an integer 0–100000 or "all"'],
    ['three', 'spec.replicas: "three" is not a number of replicas; use an integer 0–100000 or "all"'],
  ];
  for (const [replicas, expected] of cases) {
    const result = validate(workloadManifestSchema, manifest({ replicas }));
    t.is(result.ok ? '' : result.error, expected);
  }
  t.true(validate(workloadManifestSchema, manifest({ replicas: 0 })).ok);
  t.true(validate(workloadManifestSchema, manifest({ replicas: 'all' })).ok);
});

test('every problem is listed, each at its own field; unknown keys are named by their path', (t) => {
  const result = validate(workloadManifestSchema, manifest({ replicas: 1.5, colour: 'red', template: { runtime: 'container', image: 'a', imagePullPolicy: 'x', resources: { limits: { cpu: '-1' } } } }));
  t.is(
    result.ok ? '' : result.error,
    [
      'spec.replicas: 1.5 is not a whole number; use an integer 0–100000 or "all"',
      'spec.template.resources.limits.cpu: "-1" is not a CPU quantity (e.g. 500m, 0.5, 2); it must not be negative',
      'spec.template.imagePullPolicy: unknown field',
      'spec.colour: unknown field',
    ].join('; '),
  );
  const runtime = validate(workloadManifestSchema, manifest({ template: { runtime: 'docker', image: 'a' } }));
  t.is(runtime.ok ? '' : runtime.error, 'spec.template.runtime: runtime must be container or process');
});

test('a failed union names the types it accepts', (t) => {
  const schema = z.strictObject({ port: z.union([z.number(), z.literal('auto')]) });
  const result = validate(schema, { port: true });
  t.is(result.ok ? '' : result.error, 'port: expected number or "auto"');
});
