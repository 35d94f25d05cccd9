import test from 'ava';
import { normalizeArch } from '../../../src/device-agent/facts/arch.js';
import { factsFingerprint, mergeFacts } from '../../../src/device-agent/facts/collect-facts.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

test('node arch names map to fleet names', (t) => {
  t.is(normalizeArch('arm64'), 'arm64');
  t.is(normalizeArch('arm', 7), 'armv7');
  t.is(normalizeArch('arm', '6'), 'armv6');
  t.is(normalizeArch('x64'), 'amd64');
  t.is(normalizeArch('mips'), 'unknown');
});

test('overrides replace fields and merge objects one level deep', (t) => {
  const merged = mergeFacts(gatewayFacts(), { arch: 'armv7', cpu: { model: 'x', cores: 2 }, resources: { 'rk3588.npu': 0 } });
  t.is(merged.arch, 'armv7');
  t.is(merged.cpu.cores, 2);
  t.is(merged.cpu.speedMHz, 2400, 'kept from the collected facts');
});

test('volatile readings do not change the fingerprint; hardware does', (t) => {
  const base = gatewayFacts();
  t.is(factsFingerprint(base), factsFingerprint({ ...base, temperatureC: 80, disk: { ...base.disk, freeBytes: 1 } }));
  t.not(factsFingerprint(base), factsFingerprint({ ...base, serialPorts: [] }));
});
