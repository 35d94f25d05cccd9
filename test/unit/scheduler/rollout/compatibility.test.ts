import test from 'ava';
import { releaseDigest, releaseManifestSchema } from '../../../../src/protocol/index.js';
import { compatibilityProblems, createRollout, releaseContent } from '../../../../src/scheduler/index.js';
import type { Driver } from './fixtures.js';
import { Fleet, hw, sec, settle, simDevice, spec, states, t0 } from './fixtures.js';

const manifest = releaseManifestSchema.parse({
  apiVersion: 'edgepilot.io/v1',
  kind: 'Release',
  metadata: { name: 'tilt' },
  spec: {
    version: '2.0.0',
    workloads: { 'tilt-reader': { runtime: 'container', image: 'local/tilt:2.0.0' } },
    compatibility: [{ workload: 'tilt-reader', requiresFirmware: { mcuModel: 'stm32f103', versionRange: '>=2.0.0' } }],
  },
});
const content = releaseContent(manifest, releaseDigest(manifest));
const stm = (v: string) => hw('gw', [{ model: 'stm32f103', firmwareVersion: v }]);

test('a constraint on an MCU the release does not flash is checked against what the device runs', (t) => {
  t.deepEqual(compatibilityProblems(content, stm('1.9.0')), ["tilt-reader needs stm32f103 firmware >=2.0.0, the device's runs 1.9.0"]);
  t.deepEqual(compatibilityProblems(content, stm('2.0.1')), []);
  t.deepEqual(compatibilityProblems(content, hw()), [], 'no such MCU: nothing to check here (placement decides)');
  const flashes = releaseContent(
    releaseManifestSchema.parse({ ...manifest, spec: { ...manifest.spec, firmware: [{ mcuModel: 'stm32f103', version: '2.1.0', sha256: 'a'.repeat(64) }] } }),
    'sha256:x',
  );
  t.deepEqual(compatibilityProblems(flashes, stm('1.9.0')), [], 'the release brings the firmware it needs');
});

test('an incompatible device is deferred, not failed, and gets the release once its firmware is upgraded', (t) => {
  const fleet = new Fleet([simDevice('old', { site: 'plant-3' }, { hardware: stm('1.9.0') }), simDevice('new', { site: 'plant-3' }, { hardware: stm('2.0.0') })], content);
  const driver: Driver = { state: createRollout({ name: 'tilt-2', spec: spec({ waves: [{ percent: 100, maxUnavailable: '100%', minHealthySeconds: 0 }, { count: 1 }] }), devices: fleet.observe(), releaseDigest: content.digest, now: t0 }), results: [] };
  settle(driver, fleet, t0);
  t.deepEqual(states(driver.state), { new: 'healthy', old: 'deferred' });
  t.regex(driver.state.status.devices.old?.reason ?? '', /^incompatible: tilt-reader needs stm32f103 firmware >=2.0.0/);
  t.is(driver.state.status.phase, 'completed');
  settle(driver, fleet, t0 + sec(60));
  t.is(fleet.get('old').installs, 0, 'still incompatible: nothing');
  fleet.get('old').hardware = stm('2.0.0');
  settle(driver, fleet, t0 + sec(120));
  t.is(driver.state.status.devices.old?.state, 'healthy');
  t.is(fleet.get('old').installs, 1);
});
