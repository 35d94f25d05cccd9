// A rollout whose start time is months ahead: the controller's wake timer must fit Node's timers
// (at most 2^31-1 ms), or Node runs it after 1 ms and the leader passes over the fleet non-stop.
import test from 'ava';
import type { Logger } from '../../../src/common/log.js';
import { RolloutController } from '../../../src/hub/rollouts/rollout-controller.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { releaseDigest, releaseSpecSchema, rolloutSpecSchema } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };

test('a rollout starting in 2099 sets a wake timer Node keeps (not one it runs after 1 ms)', async (t) => {
  const dir = await makeTempDir('ep-rollout-wake-');
  const store = await openLowdbStore(dir.path);
  t.teardown(async () => {
    await store.close();
    await dir.remove();
  });
  const now = (): Date => new Date('2026-12-01T04:00:00Z');
  const release = releaseSpecSchema.parse({ version: '2.0.0', workloads: { app: { runtime: 'process', command: ['sleep', '100'] } } });
  await store.releases.create({ name: 'fw', labels: {}, annotations: {}, spec: release, digest: releaseDigest({ metadata: { name: 'fw' }, spec: release }), createdAt: now().toISOString() });
  const controller = new RolloutController({ store, now, log: quiet, replan: async () => undefined });
  await controller.create('later', rolloutSpecSchema.parse({ selector: { matchLabels: { site: 'a' } }, release: { name: 'fw', version: '2.0.0' }, startAt: '2099-01-01T00:00:00Z', waves: [{ percent: 100 }] }));
  const delays: number[] = [];
  const real = globalThis.setTimeout;
  globalThis.setTimeout = ((fn: () => void, ms?: number) => {
    delays.push(ms ?? 0);
    return real(fn, ms);
  }) as typeof setTimeout;
  try {
    await controller.pass();
  } finally {
    globalThis.setTimeout = real;
    controller.stop();
  }
  t.true(delays.length > 0, 'the pass set its wake');
  t.true(delays.every((ms) => ms <= 2 ** 31 - 1), `delays: ${delays.join(', ')}`);
});
