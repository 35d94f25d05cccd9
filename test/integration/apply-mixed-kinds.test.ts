import test from 'ava';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { startHubProcess, type HubHandle } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import type { CliResult } from '../support/processes.js';

/**
 * Issue 9: one `apply -f` of several kinds (Workload, Job, CronJob, Release, MaintenanceWindow, Rollout)
 * is checked completely before anything is stored, and stored in one write: one bad document, even the
 * last one, leaves nothing of the apply behind.
 */
const ctx = {} as { dir: string; hub: HubHandle; cleanup: () => Promise<void> };

test.before(async () => {
  const tmp = await makeTempDir('ep-mixed-');
  ctx.dir = tmp.path;
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: join(ctx.dir, 'hub') });
  ctx.cleanup = async () => {
    await ctx.hub.proc.kill('SIGKILL');
    await tmp.remove();
  };
});

test.after.always(async () => ctx.cleanup?.());

const docs = (suffix: string, rolloutRelease: string): string => `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: web-${suffix} }
spec:
  replicas: 1
  template: { runtime: process, command: ["sleep", "1000"] }
---
apiVersion: edgepilot.io/v1
kind: Job
metadata: { name: once-${suffix} }
spec:
  template: { runtime: process, command: ["true"] }
---
apiVersion: edgepilot.io/v1
kind: CronJob
metadata: { name: tick-${suffix} }
spec:
  schedule: "0 3 * * *"
  jobTemplate: { template: { runtime: process, command: ["true"] } }
---
apiVersion: edgepilot.io/v1
kind: MaintenanceWindow
metadata: { name: night-${suffix} }
spec:
  selector: { matchLabels: { site: nowhere } }
  schedule: "0 2 * * *"
  duration: 3h
  timeZone: Europe/Berlin
  mode: allow
---
apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: rel-${suffix} }
spec:
  version: 1.0.0
  workloads:
    web-${suffix}: { runtime: process, command: ["sleep", "1000"] }
---
apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: roll-${suffix} }
spec:
  selector: { matchLabels: { site: nowhere } }
  release: { name: ${rolloutRelease}, version: 1.0.0 }
  waves:
    - { name: all, percent: 100 }
`;

async function names(resource: string): Promise<string[]> {
  const result = await ctx.hub.cli(['get', resource, '-o', 'name']);
  if (result.code !== 0) throw new Error(`get ${resource}: ${result.stderr}`);
  return result.stdout.split('\n').filter((l) => l.length > 0);
}

async function apply(file: string, yaml: string): Promise<CliResult> {
  const path = join(ctx.dir, file);
  await writeFile(path, yaml);
  return ctx.hub.cli(['apply', '-f', path]);
}

test.serial('a Rollout naming a missing release, last of six kinds, refuses the whole apply: nothing is stored', async (t) => {
  const result = await apply('bad.yaml', docs('a', 'no-such-release'));
  t.not(result.code, 0);
  t.regex(result.stderr, /rollout roll-a: release no-such-release@1\.0\.0 not found/);
  t.deepEqual(await names('workloads'), []);
  t.deepEqual(await names('jobs'), []);
  t.deepEqual(await names('cronjobs'), []);
  t.deepEqual(await names('releases'), []);
  t.deepEqual(await names('rollouts'), []);
});

test.serial('an invalid last document refuses every kind before it; the same apply made valid stores all of them', async (t) => {
  const broken = `${docs('b', 'rel-b')}---
apiVersion: edgepilot.io/v1
kind: CronJob
metadata: { name: broken }
spec:
  schedule: "61 * * * *"
  jobTemplate: { template: { runtime: process, command: ["true"] } }
`;
  const refused = await apply('broken.yaml', broken);
  t.not(refused.code, 0);
  t.deepEqual([...(await names('workloads')), ...(await names('jobs')), ...(await names('cronjobs')), ...(await names('releases'))], []);
  const ok = await apply('good.yaml', docs('b', 'rel-b'));
  t.is(ok.code, 0, ok.stderr);
  t.deepEqual(await names('workloads'), ['workload/web-b']);
  t.deepEqual(await names('jobs'), ['job/once-b']);
  t.deepEqual(await names('cronjobs'), ['cronjob/tick-b']);
  t.is((await names('releases')).length, 1);
  t.is((await names('rollouts')).length, 1);
});

const configAndWorkload = (releaseCommand: string): string => `apiVersion: edgepilot.io/v1
kind: ConfigMap
metadata: { name: settings-c }
data: { level: debug }
---
apiVersion: edgepilot.io/v1
kind: Secret
metadata: { name: db-c }
data: { password: hunter2 }
---
apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: web-c }
spec:
  replicas: 1
  template:
    runtime: process
    command: ["sleep", "1000"]
    envFrom: [{ configMap: settings-c }, { secret: db-c }]
---
apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: rel-c }
spec:
  version: 1.0.0
  workloads:
    web-c: { runtime: process, command: ${releaseCommand} }
`;

test.serial('ConfigMaps and Secrets are part of the one write: a refusal at the write (a release changed under its version) stores none of them', async (t) => {
  const first = await apply('rel-c.yaml', `apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: rel-c }
spec:
  version: 1.0.0
  workloads:
    web-c: { runtime: process, command: ["sleep", "1000"] }
`);
  t.is(first.code, 0, first.stderr);
  // The same release name and version with other content is refused only when the batch is written.
  const refused = await apply('config-bad.yaml', configAndWorkload('["sleep", "2000"]'));
  t.not(refused.code, 0);
  t.regex(refused.stderr, /release rel-c@1\.0\.0 exists with other content/);
  t.deepEqual([...(await names('configmaps')), ...(await names('secrets'))], []);
  t.false((await names('workloads')).includes('workload/web-c'));
  const ok = await apply('config-good.yaml', configAndWorkload('["sleep", "1000"]'));
  t.is(ok.code, 0, ok.stderr);
  t.deepEqual(await names('configmaps'), ['configmap/settings-c']);
  t.deepEqual(await names('secrets'), ['secret/db-c']);
  t.true((await names('workloads')).includes('workload/web-c'));
});

test.serial('a release pins a ConfigMap version it keeps; a version the hub does not have is refused and named', async (t) => {
  const described = await ctx.hub.cli(['describe', 'configmap', 'settings-c', '-o', 'json']);
  t.is(described.code, 0, described.stderr);
  const version = (JSON.parse(described.stdout) as { version: string }).version;
  const changed = await apply('settings-2.yaml', `apiVersion: edgepilot.io/v1
kind: ConfigMap
metadata: { name: settings-c }
data: { level: info }
`);
  t.is(changed.code, 0, changed.stderr);
  const pinning = (name: string, pinned: string): string => `apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: ${name} }
spec:
  version: 1.0.0
  workloads:
    web-c: { runtime: process, command: ["sleep", "1000"] }
  configs:
    - { kind: ConfigMap, name: settings-c, version: ${pinned} }
`;
  const unknown = await apply('pin-unknown.yaml', pinning('rel-d', 'f'.repeat(16)));
  t.not(unknown.code, 0);
  t.regex(unknown.stderr, /spec\.configs pins configmap settings-c version f{16}, which this hub does not have/);
  const pinned = await apply('pin-old.yaml', pinning('rel-e', version));
  t.is(pinned.code, 0, pinned.stderr);
  const text = await ctx.hub.cli(['describe', 'configmap', 'settings-c']);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, new RegExp(`${version}\\s+\\S+\\s+pinned by rel-e@1\\.0\\.0`));
  t.regex(text.stdout, /\(current\)/);
});
