// Issue 15's must-show "SIGKILL the leader ... during a rollout": three hubs on one PostgreSQL and
// one Redis, an agent on each, a two-wave rollout of a new release. The leader is killed while the
// rollout is under way; another hub takes the lease, the rollout goes on from where it was and
// completes, and no device was moved twice: each instance started once on the old release and once
// on the new one (its `starts` file), and no device holds two instances.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rolloutViewSchema, type RolloutView } from '../../src/protocol/index.js';
import type { HubHandle } from '../support/fleet.js';
import { hubsSeenBy, startAgentPerHub, startSharedHubs, severalHubsRig } from '../support/several-hubs.js';
import { waitFor } from '../support/wait.js';
import { applyYaml, instancesOf } from '../support/workloads.js';

const MARKER = `ep-hubs-rollout-${process.pid}`;

/** Every start appends the revision it runs to `<volume>/starts`. */
const template = (version: string): string => `
      runtime: process
      command: [sh, -c, 'echo "$EDGEPILOT_REVISION" >> "$EDGEPILOT_VOLUME_DATA/starts"; while :; do sleep 1; done', ${MARKER}]
      env: { VERSION: "${version}" }
      volumes: [{ name: data, mountPath: /data }]
      terminationGracePeriodSeconds: 1`;

const workloadYaml = `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: tilt }
spec:
  replicas: all
  selector: { matchLabels: { fleet: ro } }
  template:${template('1').replace(/\n {6}/g, '\n    ')}
`;

const releaseYaml = `apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: tilt-rel }
spec:
  version: 2.0.0
  workloads:
    tilt:${template('2')}
`;

// A soak long enough that the leader dies with devices between assignment and healthy.
const rolloutYaml = `apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: failover }
spec:
  selector: { matchLabels: { fleet: ro } }
  release: { name: tilt-rel, version: 2.0.0 }
  waves:
    - { name: canary, count: 1, minHealthySeconds: 4, healthyDeadlineSeconds: 90, progressDeadlineSeconds: 180 }
    - { name: rest, percent: 100, minHealthySeconds: 4, healthyDeadlineSeconds: 90, progressDeadlineSeconds: 180 }
`;

async function rolloutAt(hub: HubHandle): Promise<RolloutView> {
  const answer = await fetch(`${hub.apiUrl}/v1/rollouts/failover`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
  if (!answer.ok) throw new Error(`GET /v1/rollouts/failover at ${hub.apiUrl}: ${answer.status}`);
  return rolloutViewSchema.parse(await answer.json());
}

test('the leader SIGKILLed during a rollout: another hub leads and finishes it, and no device is moved twice', async (t) => {
  t.timeout(600_000);
  const rig = await severalHubsRig(t, 'ep-hubs-rollout-', {
    cleanup: () => {
      try {
        execFileSync('pkill', ['-9', '-f', MARKER]);
      } catch {
        // none left
      }
    },
  });
  const { procs } = rig;
  const hubs = (await startSharedHubs({ ...rig, ids: ['hub-a', 'hub-b', 'hub-c'], procs })) as [HubHandle, HubHandle, HubHandle];
  const [a] = hubs;
  const ids = ['hub-a', 'hub-b', 'hub-c'];
  const leaderId = await waitFor('one hub to lead', async () => {
    const views = await hubsSeenBy(a);
    const leading = views.filter((h) => h.leading);
    return views.length === 3 && leading.length === 1 ? leading[0]?.id : undefined;
  });
  const leader = hubs[ids.indexOf(leaderId)] as HubHandle;
  const survivors = hubs.filter((h) => h !== leader);
  const [survivor] = survivors as [HubHandle];

  const agents = await startAgentPerHub(hubs, { root: rig.root, boardPrefix: 'hubs-rollout-board', procs });
  const devices = await waitFor('three devices online', async () => {
    const found = await a.devices();
    return found.length === 3 && found.every((d) => d.state === 'online') ? found : undefined;
  }, 180_000, 500);
  for (const device of devices) {
    const labelled = await a.cli(['label', 'device', device.id, 'fleet=ro']);
    t.is(labelled.code, 0, labelled.stderr);
  }
  await applyYaml(a, rig.root, 'tilt.yaml', workloadYaml);
  const v1 = await waitFor('tilt v1 running on all three', async () => {
    const instances = await instancesOf(a, 'tilt');
    return instances.length === 3 && instances.every((i) => i.phase === 'running') ? instances[0]?.revision : undefined;
  }, 120_000, 500);
  await applyYaml(a, rig.root, 'release.yaml', releaseYaml);

  // Started through the leader (a follower hands a person's write on; hubs-follower-writes tests that).
  await writeFile(join(rig.root, 'rollout.yaml'), rolloutYaml);
  const started = await leader.cli(['rollout', 'start', '-f', join(rig.root, 'rollout.yaml')]);
  t.is(started.code, 0, started.stderr);
  const midway = await waitFor('the rollout under way (a device assigned, not yet healthy)', async () => {
    const r = await rolloutAt(survivor);
    return r.phase === 'progressing' && r.devices.some((d) => d.state === 'updating' || d.state === 'verifying') ? r : undefined;
  }, 120_000, 100);
  t.log(`killing leader ${leaderId} at wave ${midway.currentWave}: ${midway.devices.map((d) => `${d.wave}/${d.state}`).join(', ')}`);
  await leader.proc.kill('SIGKILL');

  const newLeader = await waitFor('another hub to lead', async () => {
    const leading = (await hubsSeenBy(survivor)).filter((h) => h.leading && h.id !== leaderId);
    return leading.length === 1 ? leading[0] : undefined;
  }, 60_000, 250);
  t.not(newLeader.id, leaderId);

  const done = await waitFor('the rollout completed under the new leader', async () => {
    const r = await rolloutAt(survivor);
    if (r.phase === 'rolled-back' || r.phase === 'aborted') throw new Error(`the rollout ended ${r.phase}: ${JSON.stringify(r.devices)}`);
    return r.phase === 'completed' ? r : undefined;
  }, 240_000, 500).catch(async (err: unknown) => {
    t.log(JSON.stringify(await rolloutAt(survivor).catch(() => 'no rollout view')));
    for (const [i, agent] of agents.entries()) t.log(`--- agent ${i}\n${agent.output.slice(-2000)}`);
    for (const hub of survivors) t.log(`--- hub ${hub.apiUrl}\n${hub.proc.output.slice(-2500)}`);
    throw err;
  });
  t.deepEqual(done.devices.map((d) => d.state), ['healthy', 'healthy', 'healthy']);

  const instances = await waitFor('tilt v2 running on all three, one instance each', async () => {
    const found = await instancesOf(survivor, 'tilt');
    return found.length === 3 && found.every((i) => i.phase === 'running' && i.revision !== v1) ? found : undefined;
  }, 60_000, 500);
  t.is(new Set(instances.map((i) => i.device)).size, 3, 'no device holds two instances');

  // Each device started tilt once on v1 and once on the release: the handover moved nobody twice.
  const startsFiles = execFileSync('find', [rig.root, '-name', 'starts', '-path', '*tilt*']).toString().trim().split('\n').filter(Boolean);
  t.is(startsFiles.length, 3, startsFiles.join(', '));
  const v2 = instances[0]?.revision;
  for (const file of startsFiles) {
    const starts = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
    t.deepEqual(starts, [v1, v2], `${file}: ${starts.join(', ')}`);
  }
});
