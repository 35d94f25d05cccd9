import test from 'ava';
import type { GateVerdict } from '../../../../src/protocol/index.js';
import { releaseDigest } from '../../../../src/protocol/index.js';
import { createRollout, releaseContent, step } from '../../../../src/scheduler/index.js';
import type { Behaviour, Driver } from './fixtures.js';
import { Fleet, hw, input, release, sec, settle, simDevice, spec, states, t0 } from './fixtures.js';

const fwRelease = release('tilt', '2.0.0', { firmware: [{ mcuModel: 'stm32f103', version: '2.1.0' }] });
const content = releaseContent(fwRelease, releaseDigest(fwRelease));
const stm32 = [{ model: 'stm32f103', version: '2.0.0' }];
const timing = { minHealthySeconds: 10, healthyDeadlineSeconds: 60, progressDeadlineSeconds: 60 };

function bench(behaviour: Behaviour, mcus = stm32): Fleet {
  return new Fleet(
    [
      simDevice('bench-1', { role: 'bench', site: 'lab' }, { behaviour, mcus, hardware: hw('gw', [{ model: 'stm32f103', firmwareVersion: '2.0.0' }]) }),
      simDevice('gw-1', { site: 'plant-3' }, { mcus: stm32 }),
      simDevice('gw-2', { site: 'plant-3' }, { mcus: stm32 }),
    ],
    content,
  );
}

const gated = (onFailure: 'rollback' | 'pause' = 'rollback') =>
  spec({
    waves: [
      { gate: 'hil', selector: { matchLabels: { role: 'bench' } }, checks: { telemetrySamples: 10 }, onFailure, ...timing },
      { percent: 100, maxUnavailable: '100%', ...timing },
    ],
  });

const start = (fleet: Fleet, s = gated()): Driver => ({
  state: createRollout({ name: 'tilt-2', spec: s, devices: fleet.observe(), releaseDigest: content.digest, now: t0 }),
  results: [],
});

test('must-show 3: a silent MCU fails the gate, the bench is reverted and no fleet gateway is flashed', (t) => {
  const fleet = bench('silent-mcu');
  const driver = start(fleet);
  t.deepEqual(driver.state.status.devices['bench-1']?.wave, 0, 'the bench is the gate wave, outside the target');
  settle(driver, fleet, t0);
  settle(driver, fleet, t0 + sec(59));
  t.is(driver.state.status.devices['bench-1']?.state, 'updating');
  settle(driver, fleet, t0 + sec(60));
  t.is(driver.state.status.phase, 'rolled-back');
  t.regex(driver.state.status.devices['bench-1']?.reason ?? '', /wave 0 failed/);
  const verdicts = driver.results.flatMap((r) => r.actions).filter((a) => a.type === 'record-gate-verdict');
  t.is(verdicts.length, 1);
  t.like(verdicts[0], { verdict: { result: 'fail', releaseDigest: content.digest, rollout: 'tilt-2' } });
  t.regex(driver.state.status.gate?.reason ?? '', /1 of 1 bench device\(s\) failed the gate/);
  t.true(driver.results.some((r) => r.events.some((e) => e.reason === 'DeviceFailed' && /MCU stm32f103-bench-1 to answer/.test(e.message))));
  t.is(fleet.get('gw-1').installs, 0);
  t.is(fleet.get('gw-2').installs, 0);
  t.is(fleet.get('bench-1').installs, 2, 'forward, then back');
});

test('must-show 3: good firmware passes the gate, then the fleet gateways end at the new version', (t) => {
  const fleet = bench('good');
  const driver = start(fleet);
  settle(driver, fleet, t0);
  t.deepEqual(states(driver.state), { 'bench-1': 'verifying', 'gw-1': 'pending', 'gw-2': 'pending' });
  settle(driver, fleet, t0 + sec(10));
  t.is(driver.state.status.gate?.result, 'pass');
  t.is(driver.state.status.gate?.releaseDigest, content.digest);
  settle(driver, fleet, t0 + sec(20));
  t.is(driver.state.status.phase, 'completed');
  const gw = fleet.observe().find((d) => d.id === 'gw-1');
  t.is(gw?.mcus[0]?.version, '2.1.0');
  t.deepEqual(
    driver.state.status.history.map((h) => h.type),
    ['created', 'started', 'wave-started', 'wave-succeeded', 'gate-passed', 'wave-started', 'wave-succeeded', 'completed'],
  );
});

test('a gate failure with onFailure: pause: later waves refuse to start without a pass unless overridden, and the override is recorded', (t) => {
  const fleet = bench('silent-mcu');
  const driver = start(fleet, gated('pause'));
  settle(driver, fleet, t0);
  settle(driver, fleet, t0 + sec(60));
  t.is(driver.state.status.pause?.kind, 'failure');
  const refused = step(driver.state, input(fleet, { command: { type: 'promote' } }), t0 + sec(61));
  t.regex(refused.refused?.message ?? '', /wave 1 needs a HIL gate pass for release digest sha256:[0-9a-f]{64}; none is recorded; promote --skip-gate/);
  t.is(refused.next, driver.state, 'nothing written');
  const promoted = step(driver.state, input(fleet, { command: { type: 'promote', skipGate: { reason: 'bench MCU broken, replaced Monday' }, actor: 'ana' } }), t0 + sec(61));
  t.is(promoted.next.status.currentWave, 1);
  t.like(promoted.next.status.gateOverride, { reason: 'bench MCU broken, replaced Monday', actor: 'ana' });
  t.true(promoted.next.status.history.some((h) => h.type === 'gate-skipped' && h.actor === 'ana' && /replaced Monday/.test(h.message)));
});

test('a stored pass for this exact digest skips the gate wave; a pass for another digest does not', (t) => {
  const pass = (digest: string): GateVerdict => ({ releaseDigest: digest, result: 'pass', at: '2026-02-01T00:00:00.000Z', rollout: 'tilt-2-lab', reason: 'ok' });
  const fleet = bench('good');
  const same = step(start(fleet).state, input(fleet, { gateVerdict: pass(content.digest) }), t0);
  t.is(same.next.status.waves[0]?.state, 'skipped');
  t.regex(same.next.status.waves[0]?.reason ?? '', /already passed .* \(rollout tilt-2-lab/);
  t.is(same.next.status.currentWave, 1);
  const other = step(start(fleet).state, input(fleet, { gateVerdict: pass(`sha256:${'0'.repeat(64)}`) }), t0);
  t.is(other.next.status.waves[0]?.state, 'active');
});

test('an override at creation (spec.skipGate) skips the gate and says so in history', (t) => {
  const fleet = bench('good');
  const s = spec({ ...gated(), skipGate: { reason: 'hotfix, bench down' } });
  const r = step(start(fleet, s).state, input(fleet), t0);
  t.is(r.next.status.waves[0]?.state, 'skipped');
  t.true(r.next.status.history.some((h) => h.type === 'gate-skipped' && /hotfix, bench down/.test(h.message)));
  t.is(r.next.status.gateOverride?.reason, 'hotfix, bench down');
});

test('a bench without the MCU the release flashes fails the gate at once; no bench at all fails it too', (t) => {
  const fleet = bench('good', []);
  const driver = start(fleet);
  settle(driver, fleet, t0);
  t.is(driver.state.status.gate?.result, 'fail');
  t.regex(driver.state.status.devices['bench-1']?.reason ?? '', /wave 0 failed/);
  t.true(driver.results.some((r) => r.events.some((e) => /bench device has no stm32f103 MCU/.test(e.message))));

  const noBench = new Fleet([simDevice('gw-1', { site: 'plant-3' })], content);
  const d2 = start(noBench);
  settle(d2, noBench, t0);
  t.is(d2.state.status.gate?.result, 'fail');
  t.is(d2.state.status.gate?.reason, 'no bench device matches the gate selector');
  t.is(noBench.get('gw-1').installs, 0);
});
