import test from 'ava';
import type { DeviceObservation, HealthInput, ObservedWorkload } from '../../../../src/scheduler/index.js';
import { deviceHealth } from '../../../../src/scheduler/index.js';
import { hw, sec, t0, v2 } from './fixtures.js';

const fw = { ...v2, firmware: [{ mcuModel: 'stm32f103', version: '2.1.0' }] };
const running: ObservedWorkload = { name: 'tilt-reader', onRelease: true, phase: 'running', ready: true, restarts: 0 };
const device = (over: Partial<DeviceObservation> = {}): DeviceObservation => ({
  id: 'gw-1',
  labels: {},
  online: true,
  hardware: hw(),
  release: v2.ref,
  applied: true,
  placedWorkloads: ['tilt-reader'],
  workloads: [running],
  mcus: [{ id: 'stm32f103-01', model: 'stm32f103', version: '2.1.0', online: true, saneTelemetrySamples: 3 }],
  ...over,
});
const judge = (over: Partial<HealthInput> = {}) =>
  deviceHealth({ device: device(), release: fw, minHealthySeconds: 60, healthyDeadlineSeconds: 300, updateStartedAt: t0, verifyingSince: undefined, now: t0 + sec(10), ...over });

test('all workloads running and ready and every flashed MCU at the new version: soaking, then healthy after minHealthySeconds', (t) => {
  t.deepEqual(judge(), { kind: 'soaking', healthyAt: t0 + sec(70), deadlineAt: t0 + sec(300) });
  t.deepEqual(judge({ verifyingSince: t0 + sec(10), now: t0 + sec(69) }), { kind: 'soaking', healthyAt: t0 + sec(70), deadlineAt: t0 + sec(300) });
  t.deepEqual(judge({ verifyingSince: t0 + sec(10), now: t0 + sec(70) }), { kind: 'healthy' });
  t.deepEqual(judge({ minHealthySeconds: 0 }), { kind: 'healthy' }, 'zero soak: healthy at once');
});

test('what is still awaited is said', (t) => {
  t.like(judge({ device: device({ applied: false }) }), { kind: 'installing', reason: 'waiting for the device to apply the release' });
  t.like(judge({ device: device({ workloads: [{ ...running, onRelease: false }] }) }), { kind: 'installing', reason: "waiting for workload tilt-reader to run the release's template" });
  t.like(judge({ device: device({ workloads: [{ ...running, phase: 'pulling', ready: false }] }) }), { kind: 'installing', reason: 'waiting for workload tilt-reader to be running and ready (now pulling, not ready)' });
  t.like(judge({ device: device({ mcus: [{ id: 'stm32f103-01', model: 'stm32f103', version: '2.0.0', online: true }] }) }), {
    kind: 'installing',
    reason: 'MCU stm32f103-01 identifies as 2.0.0, waiting for 2.1.0',
  });
  t.like(judge({ device: device({ mcus: [{ id: 'stm32f103-01', model: 'stm32f103', version: '2.1.0', online: false }] }) }), { kind: 'installing', reason: 'waiting for MCU stm32f103-01 to answer' });
});

test('failed: crash loop, failed instance, a restart since the update, a flash failure', (t) => {
  t.deepEqual(judge({ device: device({ workloads: [{ ...running, phase: 'crash-loop', ready: false }] }) }), { kind: 'failed', reason: 'workload tilt-reader is crash-looping' });
  t.deepEqual(judge({ device: device({ workloads: [{ ...running, phase: 'failed' }] }) }), { kind: 'failed', reason: 'workload tilt-reader failed' });
  t.deepEqual(judge({ device: device({ workloads: [{ ...running, restarts: 1 }] }) }), { kind: 'failed', reason: 'workload tilt-reader restarted 1 time(s) since the update' });
  t.deepEqual(judge({ device: device({ flashFailure: 'verify mismatch at 0x08001000; rolled back' }) }), {
    kind: 'failed',
    reason: 'firmware flash failed: verify mismatch at 0x08001000; rolled back',
  });
  // An old instance crash-looping is not the release's fault: only the release's instance counts.
  t.like(judge({ device: device({ workloads: [{ ...running, onRelease: false, phase: 'crash-loop' }] }) }), { kind: 'installing' });
});

test('healthyDeadlineSeconds: not healthy by then is failed, with what was awaited', (t) => {
  t.like(judge({ device: device({ applied: false }), now: t0 + sec(299) }), { kind: 'installing' });
  t.deepEqual(judge({ device: device({ applied: false }), now: t0 + sec(300) }), {
    kind: 'failed',
    reason: 'not healthy within healthyDeadlineSeconds (300s): waiting for the device to apply the release',
  });
  t.deepEqual(judge({ verifyingSince: t0 + sec(250), now: t0 + sec(300) }), { kind: 'failed', reason: 'not healthy within healthyDeadlineSeconds (300s): still soaking' });
});

test('offline is not a verdict: deferred, whatever it reported before', (t) => {
  t.deepEqual(judge({ device: device({ online: false, workloads: [{ ...running, phase: 'crash-loop' }] }) }), { kind: 'offline' });
  t.deepEqual(judge({ device: undefined }), { kind: 'offline' });
});

test('a fleet device without the flashed MCU model has nothing to flash; a bench device without it fails the gate', (t) => {
  t.like(judge({ device: device({ mcus: [] }) }), { kind: 'soaking' });
  const gate = { mcuIdentifies: true, telemetrySamples: 10, workloadsReady: true };
  t.deepEqual(judge({ device: device({ mcus: [] }), gate }), { kind: 'failed', reason: 'bench device has no stm32f103 MCU to check firmware 2.1.0 on' });
  t.like(judge({ gate }), { kind: 'installing', reason: 'MCU stm32f103-01: 3 of 10 sane telemetry samples' });
  t.like(judge({ gate: { ...gate, telemetrySamples: 3 } }), { kind: 'soaking' });
  t.like(judge({ gate: { ...gate, mcuIdentifies: false }, device: device({ mcus: [] }) }), { kind: 'soaking' }, 'checks switched off are not checked');
});

test('only the release\'s workloads placed on this device count, and only MCU models it has', (t) => {
  // A release of two workloads where placement puts only tilt-reader here (the other's selector
  // matches other devices): healthy on tilt-reader alone, whatever the other one does elsewhere.
  const two = { ...fw, workloads: ['line-camera', 'tilt-reader'] };
  t.like(judge({ release: two }), { kind: 'soaking' });
  t.like(judge({ release: two, minHealthySeconds: 0 }), { kind: 'healthy' });
  // Placed here too: then it is awaited like any other.
  t.like(judge({ release: two, device: device({ placedWorkloads: ['line-camera', 'tilt-reader'] }) }), {
    kind: 'installing',
    reason: "waiting for workload line-camera to run the release's template",
  });
  // Placement puts nothing of the release here: only the firmware is judged.
  t.like(judge({ device: device({ placedWorkloads: [], workloads: [] }) }), { kind: 'soaking' });
  t.like(judge({ device: device({ placedWorkloads: [], workloads: [], mcus: [{ id: 'stm32f103-01', model: 'stm32f103', version: '2.0.0', online: true }] }) }), {
    kind: 'installing',
    reason: 'MCU stm32f103-01 identifies as 2.0.0, waiting for 2.1.0',
  });
  // A workload placed elsewhere that crash-loops on this device's old report does not count.
  t.like(judge({ device: device({ placedWorkloads: [], workloads: [{ ...running, phase: 'crash-loop' }] }) }), { kind: 'soaking' });
});

test('a bench device that placement gives none of a release workload fails the gate: it cannot check it', (t) => {
  const gate = { mcuIdentifies: true, telemetrySamples: 3, workloadsReady: true };
  t.deepEqual(judge({ gate, device: device({ placedWorkloads: [] }) }), {
    kind: 'failed',
    reason: 'bench device runs no instance of tilt-reader (placement does not put it here), so the gate cannot check it',
  });
  t.like(judge({ gate: { ...gate, workloadsReady: false }, device: device({ placedWorkloads: [] }) }), { kind: 'soaking' }, 'unless workloads are not checked');
});
