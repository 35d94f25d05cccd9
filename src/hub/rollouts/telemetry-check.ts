// The HIL gate's telemetry check: frames from an MCU on the bench are "sane" when their pitch and
// roll match what the emulator builds' deterministic generator (hardware/PROTOCOL.md) gives for
// the frame's sample index, within a tolerance. Pure: the controller passes recent frames.
import type { McuTelemetry } from '../../protocol/index.js';

const TABLE_X = [0, 500, -500, 0, 707, -707, 259, 0];
const TABLE_Y = [0, 0, 0, 500, 0, 707, -259, 866];
const TABLE_Z = [1000, 866, 866, 866, 707, 0, 930, 500];
/** Degrees: the firmware rounds to 0.01°, the generator is exact. */
const TOLERANCE_DEG = 0.5;

const degrees = (radians: number): number => (radians * 180) / Math.PI;

/** Expected pitch and roll for generator sample `index`. */
export function generatorAngles(index: number): { pitch: number; roll: number } {
  const i = index % 8;
  const ax = TABLE_X[i] ?? 0;
  const ay = TABLE_Y[i] ?? 0;
  const az = TABLE_Z[i] ?? 0;
  return { pitch: degrees(Math.atan2(-ax, Math.sqrt(ay * ay + az * az))), roll: degrees(Math.atan2(ay, az)) };
}

/** Frames received at or after `since` (epoch ms) whose pitch and roll match the generator. */
export function saneTelemetrySamples(frames: readonly McuTelemetry[], since: number): number {
  let sane = 0;
  for (const f of frames) {
    if (Date.parse(f.time) < since || f.sampleIndex === null) continue;
    const pitch = f.channels.find((c) => c.name === 'pitch')?.value;
    const roll = f.channels.find((c) => c.name === 'roll')?.value;
    if (pitch === undefined || roll === undefined) continue;
    const expected = generatorAngles(f.sampleIndex);
    if (Math.abs(pitch - expected.pitch) <= TOLERANCE_DEG && Math.abs(roll - expected.roll) <= TOLERANCE_DEG) sane += 1;
  }
  return sane;
}
