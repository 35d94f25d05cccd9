// Flash failures are durable: a failure heard by a hub that stops before its next pass is in the
// stored rollout, so the hub started afterwards fails the device at once, not at its healthy
// deadline (10 minutes here).
import test from 'ava';
import type { Logger } from '../../../src/common/log.js';
import { RolloutController } from '../../../src/hub/rollouts/rollout-controller.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { releaseDigest, releaseSpecSchema, rolloutSpecSchema } from '../../../src/protocol/index.js';
import { gatewayFacts } from '../../support/facts-fixture.js';
import { makeTempDir } from '../../support/paths.js';
import { waitFor } from '../../support/wait.js';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined, child: () => quiet };
const at = (s: string): string => new Date(Date.parse('2026-11-30T12:00:00Z') + Number(s) * 1000).toISOString();

test('a flash failure heard just before the hub stops is in the stored rollout: the next hub fails the device at once', async (t) => {
  const dir = await makeTempDir('ep-flash-fail-');
  t.teardown(() => dir.remove());
  let store = await openLowdbStore(dir.path);
  const spec = releaseSpecSchema.parse({ version: '2.0.0', firmware: [{ mcuModel: 'stm32f103', version: '2.0.0', sha256: 'a'.repeat(64) }] });
  await store.releases.create({ name: 'fw', labels: {}, annotations: {}, spec, digest: releaseDigest({ metadata: { name: 'fw' }, spec }), createdAt: at('0') });
  const mcu = { id: 'stm32f103-01', model: 'stm32f103', application: 'tilt', serial: '01', firmwareVersion: '1.0.0', port: '/dev/ttyUSB0', online: true };
  await store.devices.put(
    {
      id: 'gw-1',
      hardwareId: 'hw-1',
      hostname: 'gw-1',
      labels: { site: 'a' },
      taints: [],
      unschedulable: false,
      credentialHash: 'x',
      registeredAt: at('0'),
      joinedWithToken: 't',
      status: { state: 'online', reason: 'connected', agentVersion: 'test', bootId: 'b', sessionId: 's', since: at('0') },
      facts: gatewayFacts({ mcus: [mcu] }),
    },
    'sync',
  );
  const now = (): Date => new Date(at('10'));
  let rejectFlash: ((err: Error) => void) | undefined;
  const first = new RolloutController({
    store,
    now,
    log: quiet,
    replan: async () => undefined,
    flash: () => new Promise<void>((_resolve, reject) => (rejectFlash = reject)),
  });
  await first.start();
  await first.create('fw-a', rolloutSpecSchema.parse({ selector: { matchLabels: { site: 'a' } }, release: { name: 'fw', version: '2.0.0' }, waves: [{ count: 1, healthyDeadlineSeconds: 600 }] }));
  const reject = await waitFor('the flash asked of the gateway', async () => rejectFlash, 10_000, 20);
  // The hub stops (no more passes); then the gateway's answer arrives: the flash failed.
  first.stop();
  reject(new Error('verify mismatch at 0x08001000; rolled back to 1.0.0'));
  await waitFor('the failure written, with its event', async () =>
    (await store.rollouts.get('fw-a'))?.status.devices['gw-1']?.flashFailure !== undefined && (await store.events.list('rollout/fw-a')).some((e) => e.reason === 'FlashFailed') ? true : undefined,
  10_000, 20);
  t.is((await store.rollouts.get('fw-a'))?.status.devices['gw-1']?.state, 'updating', 'no pass ran after the stop');
  await store.close();

  // A new hub on the same data, long before the healthy deadline.
  store = await openLowdbStore(dir.path);
  const second = new RolloutController({ store, now: () => new Date(at('20')), log: quiet, replan: async () => undefined, flash: async () => undefined });
  await second.start();
  second.stop();
  const r = await store.rollouts.get('fw-a');
  // Failed on the recorded flash, so its wave failed and the rollout rolled back: at once.
  t.is(r?.status.phase, 'rolled-back');
  const failed = (await store.events.list('rollout/fw-a')).find((e) => e.reason === 'DeviceFailed');
  t.regex(failed?.message ?? '', /gw-1 .*firmware flash failed: stm32f103-01: verify mismatch at 0x08001000; rolled back to 1\.0\.0/);
  await store.close();
});
