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
  ['unknown kind', `apiVersion: edgepilot.io/v1\nkind: Deployment\nmetadata:\n  name: x\n`, /unknown-kind\.yaml:11: kind: "Deployment" is not supported \(supported: Workload, Job, CronJob\)/],
  ['missing image', `apiVersion: edgepilot.io/v1\nkind: Workload\nmetadata:\n  name: noimage\nspec:\n  template:\n    runtime: container\n`, /missing-image\.yaml:16: spec\.template\.image: /],
  [
    'negative memory',
    `apiVersion: edgepilot.io/v1\nkind: Workload\nmetadata:\n  name: neg\nspec:\n  template:\n    runtime: container\n    image: local/busybox:latest\n    resources:\n      limits:\n        memory: -64Mi\n`,
    /negative-memory\.yaml:20: spec\.template\.resources\.limits\.memory: "-64Mi" is not a memory quantity .*must not be negative/,
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

test.serial('a valid file applies; applying it again changes nothing', async (t) => {
  const first = await applyFile('good.yaml', good);
  t.is(first.stdout.trim(), 'workload/good created');
  const second = await applyFile('good.yaml', good);
  t.is(second.stdout.trim(), 'workload/good unchanged');
});
