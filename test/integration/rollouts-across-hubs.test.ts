// A person's rollout requests through a hub that does not lead (issue 15): `rollout start`,
// `pause`, `resume` and `abort` at the follower are accepted (on PostgreSQL they were refused
// with FencedOut: the rollout is the leader's controller's), the leader acts on them, and every
// hub reads the outcome. Two hubs on one PostgreSQL and one Redis; no device is needed: the
// rollout's start time is far ahead, so it stays `scheduled` until the commands move it.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rolloutViewSchema, type RolloutView } from '../../src/protocol/index.js';
import type { HubHandle } from '../support/fleet.js';
import { hubsSeenBy, startSharedHubs, severalHubsRig } from '../support/several-hubs.js';
import { waitFor } from '../support/wait.js';

const release = `apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: fw }
spec:
  version: 2.0.0
  workloads:
    app: { runtime: process, command: [sleep, "100"] }
`;

const rollout = `apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: ro-follower }
spec:
  selector: { matchLabels: { site: nowhere } }
  release: { name: fw, version: 2.0.0 }
  startAt: "2099-01-01T00:00:00Z"
  waves: [{ percent: 100 }]
`;

async function leaderOf(hub: HubHandle): Promise<string | undefined> {
  const items = await hubsSeenBy(hub).catch(() => undefined);
  if (!items) return undefined;
  return items.length === 2 ? items.find((h) => h.leading)?.apiUrl : undefined;
}

async function statusAt(hub: HubHandle, name: string): Promise<RolloutView | undefined> {
  const answer = await fetch(`${hub.apiUrl}/v1/rollouts/${name}`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
  return answer.ok ? rolloutViewSchema.parse(await answer.json()) : undefined;
}

test('rollout start, pause, resume and abort through the hub that does not lead are accepted and acted on by the leader', async (t) => {
  t.timeout(180_000);
  const rig = await severalHubsRig(t, 'ep-rollouts-hubs-');
  const { procs } = rig;
  const hubs = await startSharedHubs({ ...rig, ids: ['hub-a', 'hub-b'], procs });
  const leaderUrl = await waitFor('one hub to lead', () => leaderOf(hubs[0]!));
  const leader = hubs.find((h) => h.apiUrl === leaderUrl)!;
  const follower = hubs.find((h) => h.apiUrl !== leaderUrl)!;

  const relFile = join(rig.root, 'release.yaml');
  const roFile = join(rig.root, 'rollout.yaml');
  await writeFile(relFile, release);
  await writeFile(roFile, rollout);
  const created = await follower.cli(['release', 'create', '-f', relFile]);
  t.is(created.code, 0, created.stderr);
  const started = await follower.cli(['rollout', 'start', '-f', roFile]);
  t.is(started.code, 0, started.stderr);
  t.regex(started.stdout, /rollout\/ro-follower started/);
  await waitFor('the leader to hold the rollout', async () => ((await statusAt(leader, 'ro-follower'))?.phase === 'scheduled' ? true : undefined));

  // Each command through the follower, each seen through the leader (its controller applied it).
  const steps: [string[], string][] = [
    [['pause', 'ro-follower', '--reason', 'checking'], 'paused'],
    [['resume', 'ro-follower'], 'scheduled'],
    [['abort', 'ro-follower', '--reason', 'done here'], 'aborted'],
  ];
  for (const [args, phase] of steps) {
    const answered = await follower.cli(['rollout', ...args]);
    t.is(answered.code, 0, `rollout ${args[0]} at the follower: ${answered.stderr}`);
    await waitFor(`${args[0]} to reach the leader`, async () => ((await statusAt(leader, 'ro-follower'))?.phase === phase ? true : undefined));
  }
  // A refusal is still one line naming why (the follower checks the command like the leader).
  const late = await follower.cli(['rollout', 'pause', 'ro-follower']);
  t.not(late.code, 0);
  t.regex(late.stderr, /aborted: nothing to pause/);
  const history = (await statusAt(follower, 'ro-follower'))?.history.map((h) => h.type);
  t.deepEqual(history?.filter((type) => type !== 'created'), ['paused', 'resumed', 'aborted']);
});
