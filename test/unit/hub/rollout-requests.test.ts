// Rollout requests made through a hub that does not lead (issue 15): the follower checks them
// and queues them, durable, before it answers; no leader has to be alive then. Whichever hub
// leads next takes them in the order asked; one that no longer applies becomes the rollout's
// Warning event; one that fails on the store stays queued, and nothing after it is done first.
import test, { type ExecutionContext } from 'ava';
import type { Logger } from '../../../src/common/log.js';
import { RolloutController, RolloutRequestError, type RolloutRequests } from '../../../src/hub/rollouts/rollout-controller.js';
import { takeRolloutRequests } from '../../../src/hub/rollouts/taken-requests.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import type { HubStore } from '../../../src/hub/store/repository.js';
import type { RolloutRequestQueue, RolloutRequestRecord } from '../../../src/hub/store/rollout-requests.js';
import { StoreUnavailableError } from '../../../src/hub/store/postgres/errors.js';
import { RolloutsForApi } from '../../../src/hub/wiring/controller-set.js';
import { releaseDigest, releaseSpecSchema, rolloutSpecSchema } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };
const now = (): Date => new Date('2026-12-01T04:00:00Z');
const spec = rolloutSpecSchema.parse({ selector: { matchLabels: { site: 'a' } }, release: { name: 'fw', version: '2.0.0' }, startAt: '2099-01-01T00:00:00Z', waves: [{ percent: 100 }] });

/** The queue as a shared store keeps it: records by id, listed in id order. */
function memoryQueue(): RolloutRequestQueue & { records: Map<string, RolloutRequestRecord> } {
  const records = new Map<string, RolloutRequestRecord>();
  return {
    records,
    add: async (r) => void records.set(r.id, structuredClone(r)),
    list: async () => ({ requests: [...records.values()].sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => structuredClone(r)), unreadable: [] }),
    has: async (id) => records.has(id),
    remove: async (id) => void records.delete(id),
  };
}

async function sharedStore(t: ExecutionContext): Promise<{ store: HubStore; queue: ReturnType<typeof memoryQueue> }> {
  const dir = await makeTempDir('ep-rollout-requests-');
  const plain = await openLowdbStore(dir.path);
  t.teardown(async () => {
    await plain.close();
    await dir.remove();
  });
  const release = releaseSpecSchema.parse({ version: '2.0.0', workloads: { app: { runtime: 'process', command: ['sleep', '100'] } } });
  await plain.releases.create({ name: 'fw', labels: {}, annotations: {}, spec: release, digest: releaseDigest({ metadata: { name: 'fw' }, spec: release }), createdAt: now().toISOString() });
  const queue = memoryQueue();
  // The lowdb store with a queue, as a store several hubs share has one.
  const store = Object.assign(Object.create(plain) as HubStore, { rolloutRequests: queue });
  return { store, queue };
}

const noLeader = { active: undefined as { rolloutController: RolloutRequests } | undefined };

test('a follower queues a start and a command with no leader alive; the next leader takes them in order and records a refusal as an event', async (t) => {
  const { store, queue } = await sharedStore(t);
  let told = 0;
  const follower = new RolloutsForApi(noLeader, new RolloutController({ store, now, log: quiet, replan: async () => undefined }), () => void told++, { store, now, takenWaitMs: 0 });

  t.is(await follower.create('ro', spec), 'created', 'acknowledged once queued');
  t.is(await store.rollouts.get('ro'), undefined, 'the follower wrote no rollout');
  t.is(queue.records.size, 1);
  await t.throwsAsync(follower.create('ro-2', { ...spec, release: { name: 'fw', version: '9.9.9' } }), { instanceOf: RolloutRequestError, message: /release fw@9\.9\.9 not found/ }, 'checked before it is queued');
  t.is(queue.records.size, 1);

  const leader = new RolloutController({ store, now, log: quiet, replan: async () => undefined });
  await leader.start();
  leader.stop();
  t.is((await store.rollouts.get('ro'))?.status.phase, 'scheduled', 'the leader created it');
  t.is(queue.records.size, 0, 'and took the request');

  const answered = await follower.command('ro', { type: 'pause', reason: 'checking' });
  t.is(answered.status.phase, 'paused', 'answered with the transition the leader will make');
  t.is((await store.rollouts.get('ro'))?.status.phase, 'scheduled', 'not written by the follower');
  // The same pause asked again elsewhere before the leader took the first: it no longer applies then.
  const [first] = queue.records.values();
  await queue.add({ ...first!, id: `${first!.id.slice(0, 13)}-ffffffff-ffff-4fff-8fff-ffffffffffff` });
  t.is(told, 2);

  const next = new RolloutController({ store, now, log: quiet, replan: async () => undefined });
  await next.start();
  next.stop();
  const stored = await store.rollouts.get('ro');
  t.is(stored?.status.phase, 'paused');
  t.deepEqual(stored?.status.history.filter((h) => h.type === 'paused').length, 1, 'paused once');
  t.is(queue.records.size, 0);
  const refused = (await store.events.list('rollout/ro')).find((e) => e.reason === 'RolloutRequestRefused');
  t.regex(refused?.message ?? '', /pause asked through another hub at .* refused: rollout ro is paused already/);
});

test('a request that fails on the store stays queued, and none after it is done before it', async (t) => {
  const queue = memoryQueue();
  const request = (n: number, type: 'pause' | 'resume'): RolloutRequestRecord => ({
    id: `176457600000${n}-00000000-0000-4000-8000-00000000000${n}`,
    rollout: 'ro',
    at: now().toISOString(),
    request: { type: 'command', command: { type } },
  });
  await queue.add(request(1, 'pause'));
  await queue.add(request(2, 'resume'));
  const done: string[] = [];
  const taker = {
    create: async () => undefined,
    command: async (_name: string, command: { type: string }) => {
      if (command.type === 'pause') throw new StoreUnavailableError('PostgreSQL at 127.0.0.1:55432 is unavailable');
      done.push(command.type);
    },
    events: { append: async () => undefined, list: async () => [] } as unknown as HubStore['events'],
    log: quiet,
    now,
  };
  await t.throwsAsync(takeRolloutRequests(queue, taker), { code: 'StoreUnavailable' });
  t.deepEqual([...queue.records.keys()].length, 2, 'both still queued');
  t.deepEqual(done, [], 'the resume waits for the pause before it');
});
