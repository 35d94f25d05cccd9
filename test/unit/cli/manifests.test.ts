import test from 'ava';
import { CliError } from '../../../src/cli/errors.js';
import { loadManifests } from '../../../src/cli/manifests.js';

/** The problems `apply -f -` reports for `text`, one per line, without main's `error: ` prefix. */
async function problems(text: string): Promise<string[]> {
  const error = await loadManifests(['-'], () => Promise.resolve(text)).then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(error instanceof CliError)) return [];
  return error.message.split('\nerror: ');
}

const head = ['apiVersion: edgepilot.io/v1', 'kind: Workload', 'metadata: { name: m }', 'spec:'];

test('a field is reported at its own line, whether its value is a block map, a flow map or a sequence item', async (t) => {
  const text = [
    ...head, // 1-4
    '  template:', // 5
    '    runtime: container',
    '    image: local/busybox:latest',
    '    probes:',
    '      liveness:', // 9: the probe with two kinds
    '        exec: { command: ["true"] }',
    '        tcp: { port: 80 }',
    '    volumes:',
    '      - { name: data, mountPath: /data }',
    '      - name: logs', // 14
    '        mountPath: relative', // 15
    '    resources: { limits: { cpu: 500m, memory: 1.5 } }', // 16
  ].join('\n');
  t.deepEqual(await problems(text), [
    '<stdin>:9: spec.template.probes.liveness: a probe needs exactly one of exec, http, tcp',
    '<stdin>:15: spec.template.volumes.1.mountPath: Invalid string: must start with "/"',
    '<stdin>:16: spec.template.resources.limits.memory: "1.5" is not a memory quantity (e.g. 64Mi, 1G); it must be a whole number of bytes',
  ]);
});

test('a missing field is reported at the map that lacks it; an unknown one at its own line', async (t) => {
  const text = [...head, '  template:', '    runtime: container', '    imagePullPolicy: Always'].join('\n');
  t.deepEqual(await problems(text), ['<stdin>:5: spec.template.image: Invalid input: expected string, received undefined', '<stdin>:7: spec.template.imagePullPolicy: unknown field']);
});

test('every document of a stream is checked; syntax errors and schema errors are all listed', async (t) => {
  const text = [
    ...head,
    '  replicas: 1.5', // 5
    '  template: { runtime: container, image: a }',
    '---',
    'apiVersion: edgepilot.io/v1', // 8
    'kind: Workload',
    'metadata: { name: [broken }', // 10
    '---',
    'apiVersion: edgepilot.io/v1',
    'kind: Deployment', // 13
  ].join('\n');
  const found = await problems(text);
  t.is(found[0], '<stdin>:5: spec.replicas: 1.5 is not a whole number; use an integer 0–100000 or "all"');
  t.regex(found[1] ?? '', /^<stdin>:10:\d+: YAML syntax error: /);
  t.is(found.at(-1), '<stdin>:13: kind: "Deployment" is not supported (supported: Workload, Job, CronJob, Release, Rollout, MaintenanceWindow, Service, ConfigMap, Secret)');
});

test('a valid stream loads every document with its line', async (t) => {
  const doc = (name: string) => ['apiVersion: edgepilot.io/v1', 'kind: Workload', `metadata: { name: ${name} }`, 'spec: { template: { runtime: container, image: a } }'].join('\n');
  const loaded = await loadManifests(['-'], () => Promise.resolve(`${doc('a')}\n---\n${doc('b')}\n`));
  t.deepEqual(
    loaded.map((m) => [m.line, (m.value as { metadata: { name: string } }).metadata.name]),
    [
      [1, 'a'],
      [6, 'b'],
    ],
  );
});

test('ConfigMap and Secret problems name the line and the field, and so do the template fields that reference them', async (t) => {
  const text = [
    'apiVersion: edgepilot.io/v1',
    'kind: Secret',
    'metadata: { name: db }',
    'data:',
    '  ../escape: x', // 5
    'binaryData:',
    '  blob: "not base64"', // 7
    '---',
    ...head, // 9-12
    '  template:',
    '    runtime: process',
    '    command: ["true"]',
    '    volumes:',
    '      - { name: c, mountPath: /c, configMap: app, secret: db }', // 17
    '    envFrom: [{ prefix: X_ }]', // 18
  ].join('\n');
  t.deepEqual(await problems(text), [
    '<stdin>:5: data.../escape: a key is letters, digits, -, _ and . (a file name), never . or ..',
    '<stdin>:7: binaryData.blob: must be base64',
    '<stdin>:17: spec.template.volumes.0.configMap: a volume has at most one of hostPath, configMap, secret',
    '<stdin>:18: spec.template.envFrom.0: envFrom needs exactly one of configMap, secret',
  ]);
});
