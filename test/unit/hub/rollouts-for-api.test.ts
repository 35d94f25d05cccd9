// The API's rollout controller (wiring/controller-set.ts): each call goes to the controller of the
// term that is current when it is made, and a hub that does not lead answers through its stopped
// writer, with the same typed refusals, then tells the leader.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { RolloutController, RolloutRequestError, type RolloutRequests } from '../../../src/hub/rollouts/rollout-controller.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { LeaderControllers, type ControllerSet } from '../../../src/hub/wiring/controllers.js';
import { RolloutsForApi } from '../../../src/hub/wiring/controller-set.js';
import { rolloutSpecSchema, type RolloutState } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';
import { FlippingLeadership } from '../../support/flipping-leadership.js';

const log = createLogger('test', 'error', () => undefined);
const spec = rolloutSpecSchema.parse({ selector: { matchLabels: { site: 'a' } }, release: { name: 'fw', version: '2.0.0' }, waves: [{ count: 1 }] });

type TermSet = ControllerSet & { rolloutController: RolloutRequests };

/** A controller set whose rollout controller writes down which term each call reached. */
function termSet(journal: string[], term: number): TermSet {
  const rolloutController: RolloutRequests = {
    create: async (name) => (journal.push(`${term}:create ${name}`), 'created'),
    command: async (name, command) => (journal.push(`${term}:${command.type} ${name}`), { name } as RolloutState),
    request: () => void journal.push(`${term}:request`),
  };
  const idle = { request: () => undefined, stop: () => undefined };
  const set = {
    desired: { ...idle, passAfterWrite: async () => undefined, reconcile: async () => undefined, republishAll: async () => undefined, unplacedReasons: new Map(), wantsReports: false },
    services: { ...idle, reconcile: async () => undefined, plan: async () => ({ byDevice: new Map(), status: new Map() }) },
    rollouts: { ...idle, start: async () => undefined },
    autoscaler: { start: () => undefined, stop: () => undefined },
    rolloutController,
  };
  return set as unknown as TermSet;
}

test('each call goes to the rollout controller of the current term; a follower answers through its writer with the typed refusal and tells the leader', async (t) => {
  const dir = await makeTempDir('ep-rollouts-api-');
  const store = await openLowdbStore(dir.path);
  t.teardown(async () => {
    await store.close();
    await dir.remove();
  });
  const leadership = new FlippingLeadership();
  const journal: string[] = [];
  let terms = 0;
  const controllers = new LeaderControllers<TermSet>({
    leadership,
    build: () => termSet(journal, ++terms),
    notifyLeader: () => undefined,
    planWithoutLeading: async () => ({ byDevice: new Map(), status: new Map() }),
    republishOnLead: false,
    log,
  });
  t.teardown(() => controllers.stop());
  let written = 0;
  const writer = new RolloutController({ store, now: () => new Date('2026-12-01T00:00:00Z'), log, replan: async () => undefined });
  const api = new RolloutsForApi(controllers, writer, () => void written++);
  await controllers.start();

  // Not leading: the writer refuses as a leader would, and the leader is told of each write.
  const missing = await t.throwsAsync(api.command('nope', { type: 'pause' }), { instanceOf: RolloutRequestError });
  t.is(missing?.code, 'RolloutNotFound');
  t.is(missing?.status, 404);
  const noRelease = await t.throwsAsync(api.create('fw-a', spec), { instanceOf: RolloutRequestError });
  t.is(noRelease?.code, 'ReleaseNotFound');
  t.is(written, 2);
  api.request();
  t.deepEqual(journal, [], 'no term controller is asked while this hub does not lead');

  leadership.flip(true);
  await controllers.settled();
  await api.create('fw-a', spec);
  await api.command('fw-a', { type: 'pause' });
  api.request();

  // A new term: the next call reaches the new term's controller, not the old one.
  leadership.flip(false);
  leadership.flip(true);
  await controllers.settled();
  await api.command('fw-a', { type: 'resume' });
  t.deepEqual(journal, ['1:create fw-a', '1:pause fw-a', '1:request', '2:resume fw-a']);
  t.is(written, 2, 'a leader\'s own writes need no notice');
});
