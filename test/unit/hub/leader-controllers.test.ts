import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { LeaderControllers, type ControllerSet } from '../../../src/hub/wiring/controllers.js';
import { FlippingLeadership } from '../../support/flipping-leadership.js';
import { publishWhileLive } from '../../../src/hub/wiring/controller-set.js';
import { NotLeadingError } from '../../../src/hub/leadership/leadership.js';

/** Records what each built set was asked, and whether it is running. */
function fakeSet(journal: string[], n: number): ControllerSet & { running: boolean } {
  const set = {
    running: false,
    desired: {
      request: () => journal.push(`${n}:request`),
      passAfterWrite: async () => void journal.push(`${n}:passAfterWrite`),
      reconcile: async () => void journal.push(`${n}:reconcile`),
      republishAll: async () => void journal.push(`${n}:republishAll`),
      unplacedReasons: new Map([['w', `set ${n}`]]),
      wantsReports: false,
      stop: () => ((set.running = false), journal.push(`${n}:stop`)),
    },
    services: { request: () => journal.push(`${n}:services`), reconcile: async () => undefined, resendAll: async () => void journal.push(`${n}:resendAll`), plan: async () => ({ byDevice: new Map(), status: new Map() }), stop: () => undefined },
    rollouts: { start: async () => void (set.running = true), request: () => journal.push(`${n}:rollouts`), stop: () => undefined },
    autoscaler: { start: () => journal.push(`${n}:autoscaler`), stop: () => undefined },
  };
  return set as ControllerSet & { running: boolean };
}

function setUp(): { leadership: FlippingLeadership; controllers: LeaderControllers<ReturnType<typeof fakeSet>>; journal: string[]; sets: ReturnType<typeof fakeSet>[]; notices: number[]; lives: (() => boolean)[] } {
  const leadership = new FlippingLeadership();
  const journal: string[] = [];
  const sets: ReturnType<typeof fakeSet>[] = [];
  const notices: number[] = [];
  const lives: (() => boolean)[] = [];
  const controllers = new LeaderControllers({
    leadership,
    build: (live) => {
      const set = fakeSet(journal, sets.length + 1);
      sets.push(set);
      lives.push(live);
      return set;
    },
    notifyLeader: () => notices.push(1),
    planWithoutLeading: async () => ({ byDevice: new Map(), status: new Map() }),
    republishOnLead: true,
    log: createLogger('test', 'error'),
  });
  return { leadership, controllers, journal, sets, notices, lives };
}

test("a set is live only while it runs in a term this hub holds: not once stopped, nor once the lease ran out unnoticed; its publishes are refused then", async (t) => {
  const { leadership, controllers, lives } = setUp();
  await controllers.start();
  leadership.flip(true);
  await controllers.settled();
  const first = lives[0]!;
  t.true(first());
  const sent: string[] = [];
  const publish = publishWhileLive(async (topic) => void sent.push(topic), first);
  await publish('ep/v1/d/a/desired', {}, true);
  // The lease ran out before a renewal noticed it (a paused process woke up): no change event yet.
  leadership.leading = false;
  t.false(first());
  const refused = await t.throwsAsync(publish('ep/v1/d/b/desired', {}, true), { instanceOf: NotLeadingError });
  t.is((refused as NotLeadingError | undefined)?.code, 'NotLeading');
  t.deepEqual(sent, ['ep/v1/d/a/desired'], 'nothing sent once the set is not live');
  leadership.leading = true;
  t.true(first(), 'renewed in time after all');
  leadership.flip(false);
  t.false(first(), 'stopped');
  leadership.flip(true);
  await controllers.settled();
  t.true(lives[1]!(), 'the next term\'s set is live');
  t.false(first(), 'the old set stays dead in the new term');
  controllers.stop();
  t.false(lives[1]!());
});

test('controllers run only while this hub leads, and a new term gets a new set', async (t) => {
  const { leadership, controllers, journal, sets } = setUp();
  await controllers.start();
  t.is(sets.length, 0, 'nothing is built before this hub leads');
  controllers.request();
  t.deepEqual(journal, []);

  leadership.flip(true);
  await controllers.settled();
  t.is(sets.length, 1);
  t.true(sets[0]!.running);
  t.deepEqual(journal.slice(0, 3), ['1:republishAll', '1:reconcile', '1:autoscaler']);

  leadership.flip(false);
  // At once, not after some pass: the old leader must not write one more document.
  t.false(sets[0]!.running);
  t.is(controllers.active, undefined);
  journal.length = 0;
  controllers.request();
  controllers.rolloutsRequest();
  t.deepEqual(journal, [], 'a hub that lost the lease runs nothing');

  leadership.flip(true);
  await controllers.settled();
  t.is(sets.length, 2);
  t.true(sets[1]!.running);
  t.false(sets[0]!.running);
  controllers.stop();
});

test('an API write on a hub that does not lead notifies the leader instead of running a pass', async (t) => {
  const { leadership, controllers, journal, notices } = setUp();
  await controllers.start();
  await controllers.passAfterWrite();
  await controllers.reconcile();
  t.is(notices.length, 2);
  t.deepEqual(journal, []);
  t.is(controllers.unplacedReasons.get('w'), undefined);

  leadership.flip(true);
  await controllers.settled();
  await controllers.passAfterWrite();
  t.is(notices.length, 2, 'the leader runs its own pass');
  t.true(journal.includes('1:passAfterWrite'));
  t.is(controllers.unplacedReasons.get('w'), 'set 1', 'the API sees the running set\'s reasons');
  controllers.writtenElsewhere();
  t.true(journal.includes('1:rollouts'));
  controllers.stop();
});

test('losing the lease during a slow start stops what that start built', async (t) => {
  const { leadership, controllers, sets } = setUp();
  await controllers.start();
  leadership.flip(true);
  leadership.flip(false);
  await controllers.settled();
  t.true(sets.every((s) => !s.running));
  t.is(controllers.active, undefined);
  controllers.stop();
});
