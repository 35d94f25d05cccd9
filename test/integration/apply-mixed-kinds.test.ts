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
