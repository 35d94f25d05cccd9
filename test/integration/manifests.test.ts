import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startHubProcess, type HubHandle } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';

const ctx = {} as { hub: HubHandle; dir: string; procs: ManagedProcess[]; remove(): Promise<void> };

test.before(async () => {
  const tmp = await makeTempDir('ep-manifests-');
  ctx.dir = tmp.path;
  ctx.hub = await startHubProcess({ root: tmp.path, dataDir: join(tmp.path, 'hub') });
  ctx.remove = async () => {
    await ctx.hub.proc.kill('SIGKILL');
    await tmp.remove();
  };
});

test.after.always(async () => ctx.remove?.());

const good = `apiVersion: edgepilot.io/v1
kind: Workload
metadata:
  name: good
spec:
  template:
    runtime: container
    image: local/busybox:latest
`;

async function applyFile(name: string, text: string) {
  const path = join(ctx.dir, name);
  await writeFile(path, text);
  return ctx.hub.cli(['apply', '-f', path]);
}

async function storedWorkloads(): Promise<string[]> {
  const r = await ctx.hub.cli(['get', 'workloads', '-o', 'name']);
  return r.stdout.split('\n').filter(Boolean);
}

// Each bad document follows the valid one (8 lines and ---), so its lines count from 10.
const cases: [string, string, RegExp][] = [
  ['unknown kind', `apiVersion: edgepilot.io/v1\nkind: Deployment\nmetadata:\n  name: x\n`, /unknown-kind\.yaml:11: kind: "Deployment" is not supported \(supported: Workload, Job, CronJob, Release, Rollout, MaintenanceWindow, Service, ConfigMap, Secret\)/],
  ['missing image', `apiVersion: edgepilot.io/v1\nkind: Workload\nmetadata:\n  name: noimage\nspec:\n  template:\n    runtime: container\n`, /missing-image\.yaml:15: spec\.template\.image: /],
  [
    'negative memory',
    `apiVersion: edgepilot.io/v1\nkind: Workload\nmetadata:\n  name: neg\nspec:\n  template:\n    runtime: container\n    image: local/busybox:latest\n    resources:\n      limits:\n        memory: -64Mi\n`,
    /negative-memory\.yaml:20: spec\.template\.resources\.limits\.memory: "-64Mi" is not a memory quantity .*must not be negative/,
  ],
  [
    'replicas one and a half',
    `apiVersion: edgepilot.io/v1\nkind: Workload\nmetadata:\n  name: half\nspec:\n  replicas: 1.5\n  template:\n    runtime: container\n    image: local/busybox:latest\n`,
    /replicas-one-and-a-half\.yaml:15: spec\.replicas: 1\.5 is not a whole number; use an integer 0–100000 or "all"$/,
  ],
  [
    // The line of the field itself (`liveness:`), not of the first line of the map under it.
    'nested field',
    `apiVersion: edgepilot.io/v1\nkind: Workload\nmetadata:\n  name: nested\nspec:\n  template:\n    runtime: container\n    image: local/busybox:latest\n    probes:\n      liveness:\n        exec: { command: ["true"] }\n        tcp: { port: 80 }\n`,
    /nested-field\.yaml:19: spec\.template\.probes\.liveness: a probe needs exactly one of exec, http, tcp$/,
  ],
  [
    'unknown field',
    `apiVersion: edgepilot.io/v1\nkind: Workload\nmetadata:\n  name: unknown\nspec:\n  template:\n    runtime: container\n    image: local/busybox:latest\n    imagePullPolicy: Always\n`,
    /unknown-field\.yaml:18: spec\.template\.imagePullPolicy: unknown field$/,
  ],
  ['YAML syntax error', `apiVersion: edgepilot.io/v1\nkind: Workload\nmetadata:\n  name: [broken\nspec: {}\n`, /yaml-syntax-error\.yaml:\d+:\d+: YAML syntax error: /],
];

for (const [what, text, expected] of cases) {
  test.serial(`${what}: a clear error with file, line and field; nothing stored`, async (t) => {
    const before = await storedWorkloads();
    const result = await applyFile(`${what.replace(/ /g, '-').toLowerCase()}.yaml`, `${good}---\n${text}`);
    t.not(result.code, 0);
    t.is(result.stdout, '');
    t.regex(result.stderr.trim(), expected);
    t.is(result.stderr.trim().split('\n').length, 1, 'one line');
    t.deepEqual(await storedWorkloads(), before, 'the valid document in the same file was not stored either');
  });
}

test.serial('every problem in every document is reported at once, each at its own line, in file order', async (t) => {
  const text = [
    'apiVersion: edgepilot.io/v1', // 1
    'kind: Workload',
    'metadata:',
    '  name: first',
    'spec:', // 5
    '  replicas: 1.5',
    '  template:',
    '    runtime: container',
    '    image: local/busybox:latest',
    '    resources:', // 10
    '      limits: { cpu: 500m, memory: -64Mi }',
    '    colour: red',
    '---',
    'apiVersion: edgepilot.io/v1',
    'kind: Workload', // 15
    'metadata:',
    '  name: second',
    'spec:',
    '  template:',
    '    runtime: container', // 20
    '    image: local/busybox:latest',
    '    resources:',
    '      requests:',
    '        cpu: 0.0001',
    '',
  ].join('\n');
  const before = await storedWorkloads();
  const result = await applyFile('many.yaml', text);
  t.not(result.code, 0);
  t.deepEqual(result.stderr.trim().replaceAll(`${ctx.dir}/`, '').split('\n'), [
    'error: many.yaml:6: spec.replicas: 1.5 is not a whole number; use an integer 0–100000 or "all"',
    'error: many.yaml:11: spec.template.resources.limits.memory: "-64Mi" is not a memory quantity (e.g. 64Mi, 1G); it must not be negative',
    'error: many.yaml:12: spec.template.colour: unknown field',
    'error: many.yaml:24: spec.template.resources.requests.cpu: "0.0001" is not a CPU quantity (e.g. 500m, 0.5, 2); it must be a whole number of millicores (at least 1m)',
  ]);
  t.deepEqual(await storedWorkloads(), before);
});

test.serial('the hub refuses a bad manifest sent around the CLI, and stores nothing', async (t) => {
  const response = await fetch(`${ctx.hub.apiUrl}/v1/apply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.hub.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ manifests: [{ apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'x' }, spec: { template: { runtime: 'container', image: 'a', resources: { limits: { memory: -1 } } } } }] }),
  });
  t.is(response.status, 400);
  const body = (await response.json()) as { message: string };
  t.regex(body.message, /^document 1: spec\.template\.resources\.limits\.memory: /);
  t.deepEqual(await storedWorkloads(), []);
});

test.serial('the hub lists the problems of every document, not only the first', async (t) => {
  const doc = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name }, spec: { template: { runtime: 'container', image: 'a' }, ...spec } });
  const response = await fetch(`${ctx.hub.apiUrl}/v1/apply`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.hub.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ manifests: [doc('a', { replicas: 1.5, colour: 'red' }), doc('b', {}), doc('c', { replicas: -2 })] }),
  });
  t.is(response.status, 400);
  const body = (await response.json()) as { message: string };
  t.is(
    body.message,
    [
      'document 1: spec.replicas: 1.5 is not a whole number; use an integer 0–100000 or "all"; spec.colour: unknown field',
      'document 3: spec.replicas: -2 is out of range; use an integer 0–100000 or "all"',
    ].join('\n'),
  );
  t.deepEqual(await storedWorkloads(), []);
});

test.serial('cpu: 500m is shown as 500m, not 500 cores, however often the spec is read back', async (t) => {
  const text = good.replace('name: good', 'name: half-cpu') + '    resources:\n      requests: { cpu: 100m, memory: 32Mi }\n      limits: { cpu: 500m, memory: 64Mi }\n';
  const applied = await applyFile('half-cpu.yaml', text);
  t.is(applied.stdout.trim(), 'workload/half-cpu created', applied.stderr);
  const described = await ctx.hub.cli(['describe', 'workload', 'half-cpu']);
  t.regex(described.stdout, /Requests:\s+cpu 100m, memory 32Mi/);
  t.regex(described.stdout, /Limits:\s+cpu 500m, memory 64Mi/);
  const json = JSON.parse((await ctx.hub.cli(['get', 'workloads', '-o', 'json'])).stdout) as { items: { name: string; spec: { template: { resources: unknown } } }[] };
  const resources = json.items.find((w) => w.name === 'half-cpu')?.spec.template.resources;
  t.deepEqual(resources, { requests: { cpuMillis: 100, memoryBytes: 32 * 2 ** 20 }, limits: { cpuMillis: 500, memoryBytes: 64 * 2 ** 20 }, devices: {} });
  t.is((await applyFile('half-cpu.yaml', text)).stdout.trim(), 'workload/half-cpu unchanged');
  await ctx.hub.cli(['delete', 'workload', 'half-cpu']);
});

test.serial('a valid file applies; applying it again changes nothing', async (t) => {
  const first = await applyFile('good.yaml', good);
  t.is(first.stdout.trim(), 'workload/good created');
  const second = await applyFile('good.yaml', good);
  t.is(second.stdout.trim(), 'workload/good unchanged');
});
