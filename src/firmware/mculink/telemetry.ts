/**
 * TELEMETRY payload (PROTOCOL.md, "TELEMETRY payload"): u32 ms since boot, u8 k ≤ 8,
 * then k × (u8 channel id, i16 value), little-endian. Values are decoded to the
 * physical unit of the channel table so that consumers never see raw scale factors.
 */

export type ChannelName = 'pitch' | 'roll' | 'accel_x' | 'accel_y' | 'accel_z' | 'temperature' | 'supply' | 'sample_index';

export interface ChannelInfo {
  readonly id: number;
  readonly name: ChannelName;
  /** Unit of `value` after scaling. */
  readonly unit: 'deg' | 'mg' | '°C' | 'mV' | 'count';
  /** Raw units per `unit` (value = raw / divisor). */
  readonly divisor: number;
}

/** The channel table of PROTOCOL.md. */
export const CHANNELS: readonly ChannelInfo[] = [
  { id: 1, name: 'pitch', unit: 'deg', divisor: 100 },
  { id: 2, name: 'roll', unit: 'deg', divisor: 100 },
  { id: 3, name: 'accel_x', unit: 'mg', divisor: 1 },
  { id: 4, name: 'accel_y', unit: 'mg', divisor: 1 },
  { id: 5, name: 'accel_z', unit: 'mg', divisor: 1 },
  { id: 6, name: 'temperature', unit: '°C', divisor: 100 },
  { id: 7, name: 'supply', unit: 'mV', divisor: 1 },
  { id: 8, name: 'sample_index', unit: 'count', divisor: 1 },
];

export const MAX_CHANNELS = 8;

export interface TelemetryReading {
  readonly id: number;
  /** Unknown ids (newer firmware) are kept as `channel_<id>` with the raw value. */
  readonly name: ChannelName | `channel_${number}`;
  readonly unit: ChannelInfo['unit'] | '';
  /** The i16 on the wire. */
  readonly raw: number;
  /** In `unit`: pitch 1234 → 12.34 (degrees). */
  readonly value: number;
}

export interface Telemetry {
  /** u32 milliseconds since MCU boot; wraps after ~49.7 days. */
  readonly uptimeMs: number;
  readonly readings: readonly TelemetryReading[];
  /** Known channels by name, in physical units. */
  readonly values: Readonly<Partial<Record<ChannelName, number>>>;
}

export class TelemetryDecodeError extends Error {
  override name = 'TelemetryDecodeError';
}

export function channelById(id: number): ChannelInfo | undefined {
  return CHANNELS.find((c) => c.id === id);
}

export function decodeTelemetry(payload: Uint8Array): Telemetry {
  if (payload.length < 5) throw new TelemetryDecodeError(`telemetry payload of ${payload.length} bytes is shorter than its 5-byte header`);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const uptimeMs = view.getUint32(0, true);
  const k = view.getUint8(4);
  if (k > MAX_CHANNELS) throw new TelemetryDecodeError(`telemetry announces ${k} channels, at most ${MAX_CHANNELS} allowed`);
  if (payload.length !== 5 + 3 * k) {
    throw new TelemetryDecodeError(`telemetry with ${k} channels needs ${5 + 3 * k} bytes, got ${payload.length}`);
  }
  const readings: TelemetryReading[] = [];
  const values: Partial<Record<ChannelName, number>> = {};
  for (let i = 0; i < k; i++) {
    const id = view.getUint8(5 + 3 * i);
    const raw = view.getInt16(6 + 3 * i, true);
    const info = channelById(id);
    if (info === undefined) {
      readings.push({ id, name: `channel_${id}`, unit: '', raw, value: raw });
      continue;
    }
    // Divide, not multiply by 0.01: 1234 / 100 is exactly the double nearest 12.34.
    const value = raw / info.divisor;
    readings.push({ id, name: info.name, unit: info.unit, raw, value });
    values[info.name] = value;
  }
  return { uptimeMs, readings, values };
}

/** Encode raw channel values (used by tests and MCU simulators). */
export function encodeTelemetry(uptimeMs: number, channels: readonly { readonly id: number; readonly raw: number }[]): Uint8Array {
  if (channels.length > MAX_CHANNELS) throw new RangeError(`at most ${MAX_CHANNELS} telemetry channels, got ${channels.length}`);
  const out = new Uint8Array(5 + 3 * channels.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, uptimeMs >>> 0, true);
  view.setUint8(4, channels.length);
  channels.forEach((c, i) => {
    if (!Number.isInteger(c.raw) || c.raw < -0x8000 || c.raw > 0x7fff) throw new RangeError(`channel ${c.id} value ${c.raw} is not an i16`);
    view.setUint8(5 + 3 * i, c.id);
    view.setInt16(6 + 3 * i, c.raw, true);
  });
  return out;
}

/**
 * Pitch and roll as every firmware computes them from an accelerometer sample
 * (PROTOCOL.md): pitch = atan2(-ax, sqrt(ay² + az²)), roll = atan2(ay, az), in
 * degrees rounded to 0.01°, returned in raw units (hundredths).
 */
export function tiltFromAccel(ax: number, ay: number, az: number): { pitch: number; roll: number } {
  const deg = 180 / Math.PI;
  // `+ 0` turns atan2's -0 (for ax = 0) into 0: the wire i16 has no negative zero.
  return {
    pitch: Math.round(Math.atan2(-ax, Math.sqrt(ay * ay + az * az)) * deg * 100) + 0,
    roll: Math.round(Math.atan2(ay, az) * deg * 100) + 0,
  };
}
