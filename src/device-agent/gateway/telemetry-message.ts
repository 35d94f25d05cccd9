/**
 * A decoded TELEMETRY frame (PROTOCOL.md, "TELEMETRY payload") as the gateway publishes it
 * on `ep/v1/d/<gateway>/mcu/<mcu>/telemetry`: values already in the channel's unit
 * (pitch/roll in degrees, acceleration in mg), so nobody downstream handles scale factors.
 */
import type { Telemetry } from '../../firmware/index.js';
import type { McuTelemetry } from '../../protocol/index.js';

/** Channel 8 (sample_index) identifies the generator sample the values came from. */
const SAMPLE_INDEX_CHANNEL = 8;

export function telemetryMessage(mcu: string, model: string, telemetry: Telemetry, receivedAt: Date): McuTelemetry {
  const sample = telemetry.readings.find((r) => r.id === SAMPLE_INDEX_CHANNEL);
  return {
    time: receivedAt.toISOString(),
    mcu,
    model,
    uptimeMs: telemetry.uptimeMs,
    // The counter wraps at 32767 (PROTOCOL.md); a negative i16 is not a valid index.
    sampleIndex: sample !== undefined && sample.raw >= 0 ? sample.raw : null,
    channels: telemetry.readings.map((r) => ({ id: r.id, name: r.name, unit: r.unit, value: r.value })),
  };
}
