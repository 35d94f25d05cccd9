// Rollback restores firmware too, also to "no release": what each MCU ran before is recorded with
// the assignment and flashed back when the store has it; when it does not, the device and an
// event say exactly which image is missing and what the MCU is left at.
import test from 'ava';
import type { FirmwareImageLookup } from '../../../../src/scheduler/index.js';
import { createRollout, recordFlashFailure, releaseContent, step } from '../../../../src/scheduler/index.js';
import { releaseDigest } from '../../../../src/protocol/index.js';
import type { Driver } from './fixtures.js';
import { Fleet, hw, input, release, sec, settle, simDevice, spec, states, t0 } from './fixtures.js';

const fwRelease = release('tilt', '2.0.0', { firmware: [{ mcuModel: 'stm32f103', version: '2.1.0' }] });
const content = releaseContent(fwRelease, releaseDigest(fwRelease));
const OLD = 'b'.repeat(64);
const store = (images: Record<string, string>): FirmwareImageLookup => ({
  find: (model, version) => images[`${model}@${version}`] ?? null,
  has: (sha) => Object.values(images).includes(sha),
});

function crashingCanary(): { fleet: Fleet; driver: Driver } {
  const mcus = [{ model: 'stm32f103', version: '2.0.0' }];
  const fleet = new Fleet(
    [
      // No release before: the hub knows the old firmware only from what the gateway identified.
      simDevice('gw-1', { site: 'plant-3' }, { pinned: null, behaviour: 'crash', mcus, hardware: hw('gw', [{ model: 'stm32f103', firmwareVersion: '2.0.0' }]) }),
      simDevice('gw-2', { site: 'plant-3' }, { pinned: null, mcus, hardware: hw('gw', [{ model: 'stm32f103', firmwareVersion: '2.0.0' }]) }),
    ],
    content,
  );
  const s = spec({ waves: [{ count: 1, minHealthySeconds: 0 }, { percent: 100 }] });
  return { fleet, driver: { state: createRollout({ name: 'tilt-2', spec: s, devices: fleet.observe(), releaseDigest: content.digest, now: t0 }), results: [] } };
}

test('the assignment records each flashed MCU\'s firmware (model, version, the store\'s sha256 when it has it)', (t) => {
  const { fleet, driver } = crashingCanary();
  settle(driver, fleet, t0, { firmwareImages: store({ 'stm32f103@2.0.0': OLD }) });
  const assigned = Object.entries(driver.state.status.devices).find(([, d]) => d.assignedAt !== undefined);
  t.deepEqual(assigned?.[1].previousFirmware, [{ mcu: `stm32f103-${assigned?.[0]}`, model: 'stm32f103', version: '2.0.0', sha256: OLD }]);
  t.is(assigned?.[1].previousRelease, null);
});

test('a rollback to "no release" re-flashes the previous firmware when the store has it (looked up again then)', (t) => {
  const { fleet, driver } = crashingCanary();
  // Not in the store at assignment (step by step up to it); pushed before the rollback.
  const results = [];
  while (!Object.values(driver.state.status.devices).some((d) => d.assignedAt !== undefined)) {
    const r = step(driver.state, input(fleet), t0);
    if (r.transition === null) return t.fail('never assigned');
    driver.state = r.next;
    results.push(r);
    for (const a of r.actions) fleet.apply(a);
  }
  t.is(Object.values(driver.state.status.devices).find((d) => d.assignedAt !== undefined)?.previousFirmware?.[0]?.sha256, null);
  results.push(...settle(driver, fleet, t0 + sec(1), { firmwareImages: store({ 'stm32f103@2.0.0': OLD }) }));
  t.is(driver.state.status.phase, 'rolled-back');
  const actions = results.flatMap((r) => r.actions);
  t.deepEqual(actions.filter((a) => a.type === 'revert'), [{ type: 'revert', deviceIds: ['gw-1'], toRelease: null }]);
  t.deepEqual(actions.filter((a) => a.type === 'restore-firmware'), [{ type: 'restore-firmware', deviceId: 'gw-1', mcu: 'stm32f103-gw-1', version: '2.0.0', sha256: OLD }]);
  t.is(driver.state.status.devices['gw-1']?.state, 'rolled-back');
  t.notRegex(driver.state.status.devices['gw-1']?.reason ?? '', /not in the firmware store/);
  t.is(states(driver.state)['gw-2'], 'pending', 'the later wave was never touched');
});

test('without the image, the rolled-back device and an event say which firmware is missing and what the MCU is left at', (t) => {
  const { fleet, driver } = crashingCanary();
  const results = settle(driver, fleet, t0);
  t.is(driver.state.status.phase, 'rolled-back');
  t.deepEqual(results.flatMap((r) => r.actions).filter((a) => a.type === 'restore-firmware'), []);
  const reason = driver.state.status.devices['gw-1']?.reason ?? '';
  t.regex(reason, /previous firmware 2\.0\.0 of stm32f103-gw-1 \(stm32f103, sha256 unknown\) is not in the firmware store; MCU left at 2\.1\.0/);
  const event = results.flatMap((r) => r.events).find((e) => e.reason === 'FirmwareNotRestored');
  t.regex(event?.message ?? '', /gw-1: previous firmware 2\.0\.0 .* MCU left at 2\.1\.0; push that image/);
});

test('an MCU already back at its previous version (never flashed, or the gateway rolled it back) is not flashed again', (t) => {
  const { fleet, driver } = crashingCanary();
  fleet.get('gw-1').behaviour = 'silent-mcu';
  const results = settle(driver, fleet, t0 + sec(0), { firmwareImages: store({ 'stm32f103@2.0.0': OLD }) });
  // A silent MCU is judged at its deadline; the sim reports the old version while it is silent.
  const later = settle(driver, fleet, t0 + sec(700), { firmwareImages: store({ 'stm32f103@2.0.0': OLD }) });
  t.is(driver.state.status.phase, 'rolled-back');
  t.deepEqual([...results, ...later].flatMap((r) => r.actions).filter((a) => a.type === 'restore-firmware'), []);
});

test('a flash failure is its own durable transition: the device fails on it at the next step, also after a restart', (t) => {
  const { fleet, driver } = crashingCanary();
  fleet.get('gw-1').behaviour = 'good';
  settle(driver, fleet, t0);
  const id = Object.entries(driver.state.status.devices).find(([, d]) => d.state === 'updating' || d.state === 'verifying')?.[0];
  if (id === undefined) return t.fail('no device in flight');
  const recorded = recordFlashFailure(driver.state, id, 'stm32f103-gw-1: verify mismatch; rolled back', false);
  t.truthy(recorded);
  t.is(recorded?.next.status.revision, driver.state.status.revision + 1);
  t.is(recorded?.next.status.devices[id]?.flashFailure, 'stm32f103-gw-1: verify mismatch; rolled back');
  t.is(recorded?.event.reason, 'FlashFailed');
  t.is(recordFlashFailure(recorded?.next ?? driver.state, id, 'again', false), null, 'recorded once');
  // The hub feeds the stored failure into the observation (it survives a restart with the state).
  const stored = recorded?.next ?? driver.state;
  const observed = fleet.observe().map((o) => (o.id === id ? { ...o, flashFailure: stored.status.devices[id]?.flashFailure ?? '' } : o));
  const r = step(stored, { release: content, devices: observed, window: () => ({ open: true, nextOpen: null }), gateVerdict: null }, t0 + sec(1));
  t.is(r.next.status.devices[id]?.state, 'failed');
  t.regex(r.next.status.devices[id]?.reason ?? '', /firmware flash failed: stm32f103-gw-1: verify mismatch/);
});

test('a failed restore is recorded on the rolled-back device', (t) => {
  const { fleet, driver } = crashingCanary();
  settle(driver, fleet, t0, { firmwareImages: store({ 'stm32f103@2.0.0': OLD }) });
  const recorded = recordFlashFailure(driver.state, 'gw-1', 'stm32f103-gw-1: timeout', true);
  t.regex(recorded?.next.status.devices['gw-1']?.reason ?? '', /; restoring firmware failed: stm32f103-gw-1: timeout$/);
  t.is(recorded?.event.reason, 'FirmwareRestoreFailed');
  t.is(recordFlashFailure(driver.state, 'gw-2', 'x', true), null, 'only rolled-back devices are restored');
});

test('a device waiting for its window that reports the release downloaded says so (once), still waiting', async (t) => {
  const { window: closedUntil } = await import('./fixtures.js');
  const fleet = new Fleet([simDevice('gw-1', { site: 'plant-3' })]);
  const driver: Driver = { state: createRollout({ name: 'tilt-2', spec: spec(), devices: fleet.observe(), releaseDigest: fleet.target.digest, now: t0 }), results: [] };
  const closed = { window: closedUntil(() => false, t0 + sec(3600)) };
  settle(driver, fleet, t0, closed);
  t.is(states(driver.state)['gw-1'], 'waiting-window');
  const downloaded = { ...closed, devices: fleet.observe().map((o) => ({ ...o, downloaded: true })) };
  const r = step(driver.state, { release: fleet.target, gateVerdict: null, ...downloaded }, t0 + sec(5));
  t.is(r.next.status.devices['gw-1']?.state, 'waiting-window');
  t.true(r.next.status.devices['gw-1']?.downloaded);
  t.regex(r.next.status.devices['gw-1']?.reason ?? '', /its maintenance window opens at .*; downloaded$/);
  t.deepEqual(r.events.map((e) => e.reason), ['DevicesDownloaded']);
  t.is(step(r.next, { release: fleet.target, gateVerdict: null, ...downloaded }, t0 + sec(6)).transition, null);
});

test('an assigned device back from offline gets the release\'s firmware sent again (a flash sent while it was away is lost)', (t) => {
  const { fleet, driver } = crashingCanary();
  fleet.get('gw-1').behaviour = 'silent-mcu';
  fleet.get('gw-2').behaviour = 'silent-mcu';
  settle(driver, fleet, t0);
  const id = Object.entries(driver.state.status.devices).find(([, d]) => d.assignedAt !== undefined)?.[0] ?? '';
  fleet.get(id).online = false;
  settle(driver, fleet, t0 + sec(1));
  t.is(driver.state.status.devices[id]?.state, 'deferred');
  fleet.get(id).online = true;
  const back = settle(driver, fleet, t0 + sec(2)).flatMap((r) => r.actions);
  t.deepEqual(back.filter((a) => a.type === 'flash-release-firmware'), [{ type: 'flash-release-firmware', deviceIds: [id], release: content.ref }]);
  t.deepEqual(back.filter((a) => a.type === 'assign-release'), [], 'not assigned a second time');
});
