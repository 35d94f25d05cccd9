// The marker that tells the leader Redis lost the retained messages (broker/retained-marker.ts),
// as LeaderControllers uses it: written at each start of leading before the stored documents are
// published; found missing, it is written again and every stored desired and services document
// is published again; a republish that failed is owed until one succeeds; a hub that does not
// lead never republishes.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { redisRetainedMarker, RETAINED_MARKER_KEY, type RetainedMarker } from '../../../src/hub/broker/retained-marker.js';
import { LeaderControllers, type ControllerSet } from '../../../src/hub/wiring/controllers.js';
import { FlippingLeadership } from '../../support/flipping-leadership.js';

/** A Redis of one key set; `flush()` empties it as a restart without saved data does. */
class FakeRedis {
  readonly keys = new Map<string, string>();
  down = false;
  async exists(key: string): Promise<number> {
    if (this.down) throw new Error('Connection is closed.');
    return this.keys.has(key) ? 1 : 0;
  }
  async set(key: string, value: string): Promise<unknown> {
    if (this.down) throw new Error('Connection is closed.');
    this.keys.set(key, value);
    return 'OK';
  }
}

function setUp(options: { failRepublish?: () => boolean } = {}): { leadership: FlippingLeadership; controllers: LeaderControllers; redis: FakeRedis; journal: string[] } {
  const leadership = new FlippingLeadership();
  const redis = new FakeRedis();
  const journal: string[] = [];
  const log = createLogger('test', 'error');
  const marker: RetainedMarker = redisRetainedMarker(redis, 'hub-a', log);
  let n = 0;
  const controllers = new LeaderControllers({
    leadership,
    build: () => {
      const set = (n += 1);
      return {
        desired: {
          request: () => undefined,
          passAfterWrite: async () => undefined,
          reconcile: async () => undefined,
          republishAll: async () => {
            if (options.failRepublish?.()) throw new Error('publish failed');
            journal.push(`${set}:desired marker=${redis.keys.has(RETAINED_MARKER_KEY)}`);
          },
          unplacedReasons: new Map(),
          wantsReports: false,
          stop: () => undefined,
        },
        services: { request: () => undefined, reconcile: async () => undefined, resendAll: async () => void journal.push(`${set}:services`), plan: async () => ({ byDevice: new Map(), status: new Map() }), stop: () => undefined },
        rollouts: { start: async () => undefined, request: () => undefined, stop: () => undefined },
        autoscaler: { start: () => undefined, stop: () => undefined },
      } satisfies ControllerSet;
    },
    planWithoutLeading: async () => ({ byDevice: new Map(), status: new Map() }),
    republishOnLead: true,
    // Checked by the test, not by the timer.
    retained: { marker, checkMs: 3_600_000 },
    log,
  });
  return { leadership, controllers, redis, journal };
}

test('the leader writes the marker before publishing at its start; with the marker there a check publishes nothing', async (t) => {
  const { leadership, controllers, redis, journal } = setUp();
  await controllers.start();
  leadership.flip(true);
  await controllers.settled();
  t.deepEqual(journal, ['1:desired marker=true'], 'marked before the start-of-term publish');
  await controllers.checkRetained();
  t.deepEqual(journal, ['1:desired marker=true'], 'nothing lost, nothing published');
  t.true(redis.keys.has(RETAINED_MARKER_KEY));
  controllers.stop();
});

test('Redis emptied: the next check writes the marker and publishes every stored desired and services document again, once', async (t) => {
  const { leadership, controllers, redis, journal } = setUp();
  await controllers.start();
  leadership.flip(true);
  await controllers.settled();
  journal.length = 0;
  redis.keys.clear();
  await Promise.all([controllers.checkRetained(), controllers.checkRetained()]);
  t.deepEqual(journal, ['1:desired marker=true', '1:services'], 'concurrent checks share one republish');
  await controllers.checkRetained();
  t.is(journal.length, 2, 'marked again: the next check finds nothing lost');
  controllers.stop();
});

test('a republish that failed is done again at the next check although the marker was written', async (t) => {
  let failing = false;
  const { leadership, controllers, redis, journal } = setUp({ failRepublish: () => failing });
  await controllers.start();
  leadership.flip(true);
  await controllers.settled();
  journal.length = 0;
  redis.keys.clear();
  failing = true;
  await controllers.checkRetained();
  t.true(redis.keys.has(RETAINED_MARKER_KEY));
  t.deepEqual(journal, []);
  failing = false;
  await controllers.checkRetained();
  t.deepEqual(journal, ['1:desired marker=true', '1:services'], 'owed, so done although the marker is there');
  controllers.stop();
});

test('Redis not answering is no loss: nothing published, and the check never rejects', async (t) => {
  const { leadership, controllers, redis, journal } = setUp();
  await controllers.start();
  leadership.flip(true);
  await controllers.settled();
  journal.length = 0;
  redis.down = true;
  await t.notThrowsAsync(controllers.checkRetained());
  t.deepEqual(journal, []);
  controllers.stop();
});

test('a hub that does not lead never checks nor publishes', async (t) => {
  const { controllers, redis, journal } = setUp();
  await controllers.start();
  await controllers.checkRetained();
  t.deepEqual(journal, []);
  t.false(redis.keys.has(RETAINED_MARKER_KEY));
  controllers.stop();
});
