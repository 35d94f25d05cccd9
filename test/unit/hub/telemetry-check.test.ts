import test from 'ava';
import type { McuTelemetry } from '../../../src/protocol/index.js';
import { generatorAngles, saneTelemetrySamples } from '../../../src/hub/rollouts/telemetry-check.js';

const frame = (time: string, sampleIndex: number | null, pitch: number, roll: number): McuTelemetry => ({
  time,
  mcu: 'stm32f103-0001',
  model: 'stm32f103',
  uptimeMs: 1000,
  sampleIndex,
  channels: [
    { id: 0, name: 'pitch', unit: 'deg', value: pitch },
    { id: 1, name: 'roll', unit: 'deg', value: roll },
  ],
});

test('the generator of hardware/PROTOCOL.md: sample 1 is pitched -30°, sample 3 rolled 30°', (t) => {
  t.is(Math.round(generatorAngles(1).pitch * 100) / 100, -30);
  t.is(Math.round(generatorAngles(3).roll * 100) / 100, 30);
  t.is(Math.round(generatorAngles(9).pitch * 100) / 100, -30, 'the table repeats every 8 samples');
});

test('sane samples: after `since`, with a sample index, pitch and roll within tolerance', (t) => {
  const since = Date.parse('2026-01-01T00:00:10Z');
  const frames = [
    frame('2026-01-01T00:00:09Z', 1, -30, 0), // before the release: not counted
    frame('2026-01-01T00:00:11Z', 1, -30, 0),
    frame('2026-01-01T00:00:12Z', 3, 0, 30.01),
    frame('2026-01-01T00:00:13Z', 1, 12, 0), // wrong pitch
    frame('2026-01-01T00:00:14Z', null, 0, 0), // no sample index
  ];
  t.is(saneTelemetrySamples(frames, since), 2);
});
