import test from 'ava';
import { join } from 'node:path';
import { rolloutViewSchema, type RolloutView } from '../../src/protocol/index.js';
import { docker, removeContainersOfDevice } from '../support/docker.js';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { applyYaml, instancesOf } from '../support/workloads.js';

/**
 * Issue 8, must-show 1 with containers: a hub and four agents (sites a and b) as processes on
 * the real dockerd; a release that changes a container workload goes out in three waves. The
 * engine's own event log counts container starts per device.
 */
const ctx = {} as { dir: string; hub: HubHandle; agents: { name: string; site: string; id: string; proc: ManagedProcess }[]; cleanup(): Promise<void> };

const template = (version: string): string => `
    runtime: container
    image: local/busybox:latest
    command: ["sh", "-c", "exec sleep 100000"]
    env: { VERSION: "${version}" }
    terminationGracePeriodSeconds: 1`;

test.before(async () => {
  const tmp = await makeTempDir('ep-rollout-ct-');
  ctx.dir = tmp.path;
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: join(ctx.dir, 'hub') });
  const procs: ManagedProcess[] = [ctx.hub.proc];
  ctx.agents = [];
  for (const site of ['a', 'b']) {
    const token = await createJoinToken(ctx.hub, ['--labels', `site=${site},fleet=ct`]);
    for (const n of [1, 2]) {
      const name = `${site}${n}`;
      const proc = startAgentProcess({ name, root: ctx.dir, hubUrl: ctx.hub.apiUrl, joinToken: token, stateDir: join(ctx.dir, name), hardwareId: `ro-ct-${name}-${ctx.dir.slice(-6)}` });
      procs.push(proc);
      ctx.agents.push({ name, site, proc, id: '' });
    }
  }
  for (const a of ctx.agents) a.id = (await a.proc.waitForOutput(/running as (\S+)/))[1] ?? '';
  ctx.cleanup = async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    for (const a of ctx.agents) if (a.id) await removeContainersOfDevice(a.id).catch(() => undefined);
    await tmp.remove();
  };
});

test.after.always(async () => ctx.cleanup?.());

async function fetchRollout(name: string): Promise<RolloutView> {
  const res = await fetch(`${ctx.hub.apiUrl}/v1/rollouts/${name}`, { headers: { authorization: `Bearer ${ctx.hub.adminToken}` } });
  return rolloutViewSchema.parse(await res.json());
}

/** Container starts of workload tilt per device since `since` (seconds), from the engine's event log, as revisions. */
async function containerStarts(since: number): Promise<Map<string, string[]>> {
  const out = await docker('events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'type=container', '--filter', 'event=start', '--filter', 'label=io.edgepilot.workload=tilt', '--format', '{{index .Actor.Attributes "io.edgepilot.device"}} {{index .Actor.Attributes "io.edgepilot.revision"}}');
  const starts = new Map<string, string[]>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [device, revision] = line.split(' ');
    if (device && revision) starts.set(device, [...(starts.get(device) ?? []), revision]);
  }
  return starts;
}

test('a release changing a container workload goes out in three waves; each device\'s container is replaced once, in its wave', async (t) => {
  const since = Math.floor(Date.now() / 1000) - 1;
  await applyYaml(ctx.hub, ctx.dir, 'tilt.yaml', `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: tilt }
spec:
  selector: { matchLabels: { fleet: ct } }
  template:${template('1').replace(/\n {4}/g, '\n    ')}
`);
  const v1 = await waitFor('tilt v1 on four devices', async () => {
    const i = await instancesOf(ctx.hub, 'tilt');
    return i.length === 4 && i.every((x) => x.phase === 'running' && x.ready) ? i[0]?.revision : undefined;
  }, 90_000, 300);
  await applyYaml(ctx.hub, ctx.dir, 'release.yaml', `apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: tilt }
spec:
  version: 2.0.0
  workloads:
    tilt:${template('2').replace(/\n {4}/g, '\n      ')}
`);
  const wave = (extra: string): string => `    - { ${extra}, minHealthySeconds: 1, healthyDeadlineSeconds: 30, progressDeadlineSeconds: 60 }`;
  await applyYaml(ctx.hub, ctx.dir, 'rollout.yaml', `apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: tilt-ct }
spec:
  selector: { matchLabels: { fleet: ct } }
  release: { name: tilt, version: 2.0.0 }
  waves:
${wave('name: canary, count: 1')}
${wave('name: site-a, selector: { matchLabels: { site: a } }')}
${wave('name: rest, percent: 100')}
`);
  const untouched: string[] = [];
  const done = await waitFor('rollout completed', async () => {
    // Instances first, the rollout after: a device whose wave had not started even at the later
    // read must still have run v1 at the earlier one (the other order races a busy hub).
    const instances = await instancesOf(ctx.hub, 'tilt');
    const r = await fetchRollout('tilt-ct');
    for (const d of r.devices.filter((x) => x.wave > r.currentWave)) {
      const revision = instances.find((i) => i.device === d.id)?.revision;
      if (revision !== undefined && revision !== v1) untouched.push(`${d.id} changed before wave ${d.wave}`);
    }
    return r.phase === 'completed' ? r : undefined;
  }, 120_000, 200);
  t.deepEqual(untouched, []);
  t.deepEqual(done.waves.map((w) => w.state), ['succeeded', 'succeeded', 'succeeded']);
  const instances = await instancesOf(ctx.hub, 'tilt');
  const v2 = instances[0]?.revision;
  t.not(v2, v1);
  t.true(instances.every((i) => i.revision === v2 && i.phase === 'running'));
  const starts = await containerStarts(since);
  for (const a of ctx.agents) t.deepEqual(starts.get(a.id), [v1, v2], `${a.name}: one container start of v1, one of v2`);
});
