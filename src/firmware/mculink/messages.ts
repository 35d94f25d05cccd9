/**
 * Typed payloads of the MCU link (PROTOCOL.md, "Messages"). Integers on the wire
 * are little-endian. encodeMessage/decodeMessage are symmetric so the same table
 * serves the host, test fixtures and simulators.
 */
import type { Telemetry } from './telemetry.js';
import { decodeTelemetry, encodeTelemetry, TelemetryDecodeError } from './telemetry.js';

export const MessageType = {
  PING: 0x01,
  PONG: 0x81,
  IDENTIFY: 0x02,
  IDENTITY: 0x82,
  SET_RATE: 0x03,
  SET_RATE_ACK: 0x83,
  ENTER_BOOTLOADER: 0x04,
  ENTER_BOOTLOADER_ACK: 0x84,
  TELEMETRY: 0x10,
  ERROR: 0x7f,
} as const;

/** "Responses have bit 7 set". ERROR (0x7F) is the other possible answer. */
export const RESPONSE_BIT = 0x80;
export const MAX_PING_PAYLOAD = 16;
export const BOOTLOADER_MAGIC: readonly number[] = [0xb0, 0x07, 0x10, 0xad];
export const MAX_MODEL_LENGTH = 24;
/** IDENTIFY flags byte, bit 0: answer with the CRC-32 of the flash (PROTOCOL.md). */
export const IDENTIFY_IMAGE_CHECK = 0x01;
export const MAX_APPLICATION_LENGTH = 16;

export interface Identity {
  readonly protocolVersion: number;
  readonly firmware: { readonly major: number; readonly minor: number; readonly patch: number };
  /** "major.minor.patch", comparable with manifest versions. */
  readonly firmwareVersion: string;
  /** 8 bytes as 16 lower-case hex digits, in wire order. */
  readonly serialNumber: string;
  readonly model: string;
  readonly application: string;
  /**
   * Present when IDENTIFY asked for an image check and the firmware can: CRC-32 (IEEE,
   * as zlib's) of the first `length` bytes of its flash, serial bytes counted as built.
   */
  readonly imageCheck?: { readonly length: number; readonly crc32: number };
}

export const ERROR_CODES = { 1: 'unknown-type', 2: 'bad-length', 3: 'bad-argument', 4: 'bad-magic' } as const;
export type McuErrorCodeName = (typeof ERROR_CODES)[keyof typeof ERROR_CODES] | 'unknown';

export interface McuErrorReport {
  readonly requestType: number;
  readonly code: number;
  readonly codeName: McuErrorCodeName;
}

/** ENTER_BOOTLOADER_ACK's one-byte payload from a chip that needs a power cycle instead. */
export const POWER_CYCLE_NEEDED = 0x01;

export type McuMessage =
  | { readonly kind: 'ping'; readonly data: Uint8Array }
  | { readonly kind: 'pong'; readonly data: Uint8Array }
  /** `imageCheckLength`: ask for the CRC-32 of that many bytes of flash (PROTOCOL.md). */
  | { readonly kind: 'identify'; readonly imageCheckLength?: number }
  | { readonly kind: 'identity'; readonly identity: Identity }
  | { readonly kind: 'set-rate'; readonly intervalMs: number }
  | { readonly kind: 'set-rate-ack'; readonly intervalMs: number }
  | { readonly kind: 'enter-bootloader' }
  /**
   * `powerCycleNeeded`: the chip's loader runs only after power-on (STC89), so the application
   * did not jump; it keeps running until the host cycles its power (PROTOCOL.md).
   */
  | { readonly kind: 'enter-bootloader-ack'; readonly powerCycleNeeded?: boolean }
  | { readonly kind: 'telemetry'; readonly telemetry: Telemetry }
  | { readonly kind: 'error'; readonly error: McuErrorReport };

export class MessageDecodeError extends Error {
  override name = 'MessageDecodeError';
}

export function encodeMessage(message: McuMessage): { type: number; payload: Uint8Array } {
  switch (message.kind) {
    case 'ping':
    case 'pong':
      if (message.data.length > MAX_PING_PAYLOAD) throw new RangeError(`ping payload is at most ${MAX_PING_PAYLOAD} bytes`);
      return { type: message.kind === 'ping' ? MessageType.PING : MessageType.PONG, payload: message.data.slice() };
    case 'identify': {
      const length = message.imageCheckLength;
      if (length === undefined) return { type: MessageType.IDENTIFY, payload: new Uint8Array(0) };
      if (!Number.isInteger(length) || length < 1 || length > 0xffff_ffff) throw new RangeError(`image check length ${length} is not a positive u32`);
      return { type: MessageType.IDENTIFY, payload: Uint8Array.of(IDENTIFY_IMAGE_CHECK, ...u32(length)) };
    }
    case 'identity':
      return { type: MessageType.IDENTITY, payload: encodeIdentity(message.identity) };
    case 'set-rate':
    case 'set-rate-ack':
      return { type: message.kind === 'set-rate' ? MessageType.SET_RATE : MessageType.SET_RATE_ACK, payload: u16(message.intervalMs) };
    case 'enter-bootloader':
      return { type: MessageType.ENTER_BOOTLOADER, payload: Uint8Array.from(BOOTLOADER_MAGIC) };
    case 'enter-bootloader-ack':
      return { type: MessageType.ENTER_BOOTLOADER_ACK, payload: message.powerCycleNeeded === true ? Uint8Array.of(POWER_CYCLE_NEEDED) : new Uint8Array(0) };
    case 'telemetry':
      return { type: MessageType.TELEMETRY, payload: encodeTelemetry(message.telemetry.uptimeMs, message.telemetry.readings) };
    case 'error':
      return { type: MessageType.ERROR, payload: Uint8Array.of(message.error.requestType, message.error.code) };
  }
}

export function decodeMessage(type: number, payload: Uint8Array): McuMessage {
  const exact = (n: number, name: string): void => {
    if (payload.length !== n) throw new MessageDecodeError(`${name} payload must be ${n} bytes, got ${payload.length}`);
  };
  switch (type) {
    case MessageType.PING:
    case MessageType.PONG:
      if (payload.length > MAX_PING_PAYLOAD) throw new MessageDecodeError(`ping payload is at most ${MAX_PING_PAYLOAD} bytes, got ${payload.length}`);
      return { kind: type === MessageType.PING ? 'ping' : 'pong', data: payload.slice() };
    case MessageType.IDENTIFY: {
      if (payload.length === 0) return { kind: 'identify' };
      exact(5, 'IDENTIFY');
      const length = readU32(payload, 1);
      return (payload[0] ?? 0) & IDENTIFY_IMAGE_CHECK && length > 0 ? { kind: 'identify', imageCheckLength: length } : { kind: 'identify' };
    }
    case MessageType.IDENTITY:
      return { kind: 'identity', identity: decodeIdentity(payload) };
    case MessageType.SET_RATE:
    case MessageType.SET_RATE_ACK:
      exact(2, type === MessageType.SET_RATE ? 'SET_RATE' : 'SET_RATE_ACK');
      return { kind: type === MessageType.SET_RATE ? 'set-rate' : 'set-rate-ack', intervalMs: (payload[0] ?? 0) | ((payload[1] ?? 0) << 8) };
    case MessageType.ENTER_BOOTLOADER:
      exact(4, 'ENTER_BOOTLOADER');
      if (!BOOTLOADER_MAGIC.every((b, i) => payload[i] === b)) throw new MessageDecodeError('ENTER_BOOTLOADER magic must be B0 07 10 AD');
      return { kind: 'enter-bootloader' };
    case MessageType.ENTER_BOOTLOADER_ACK:
      if (payload.length === 1 && payload[0] === POWER_CYCLE_NEEDED) return { kind: 'enter-bootloader-ack', powerCycleNeeded: true };
      exact(0, 'ENTER_BOOTLOADER_ACK');
      return { kind: 'enter-bootloader-ack' };
    case MessageType.TELEMETRY:
      try {
        return { kind: 'telemetry', telemetry: decodeTelemetry(payload) };
      } catch (err) {
        if (err instanceof TelemetryDecodeError) throw new MessageDecodeError(err.message);
        throw err;
      }
    case MessageType.ERROR: {
      exact(2, 'ERROR');
      const code = payload[1] ?? 0;
      return { kind: 'error', error: { requestType: payload[0] ?? 0, code, codeName: errorCodeName(code) } };
    }
    default:
      throw new MessageDecodeError(`message type 0x${type.toString(16).padStart(2, '0')} unknown`);
  }
}

export function errorCodeName(code: number): McuErrorCodeName {
  return code in ERROR_CODES ? ERROR_CODES[code as keyof typeof ERROR_CODES] : 'unknown';
}

function u16(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`${n} is not a u16`);
  return Uint8Array.of(n & 0xff, n >> 8);
}

function encodeIdentity(id: Identity): Uint8Array {
  const model = ascii(id.model, MAX_MODEL_LENGTH, 'model');
  const app = ascii(id.application, MAX_APPLICATION_LENGTH, 'application');
  if (!/^[0-9a-f]{16}$/i.test(id.serialNumber)) throw new RangeError('serial number must be 16 hex digits');
  const out = new Uint8Array(14 + model.length + app.length + (id.imageCheck ? 8 : 0));
  out.set([id.protocolVersion, id.firmware.major, id.firmware.minor, id.firmware.patch], 0);
  out.set(Buffer.from(id.serialNumber, 'hex'), 4);
  out[12] = model.length;
  out.set(model, 13);
  out[13 + model.length] = app.length;
  out.set(app, 14 + model.length);
  if (id.imageCheck) {
    out.set(u32(id.imageCheck.length), 14 + model.length + app.length);
    out.set(u32(id.imageCheck.crc32), 18 + model.length + app.length);
  }
  return out;
}

function u32(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new RangeError(`${n} is not a u32`);
  return Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
}

function readU32(p: Uint8Array, at: number): number {
  return ((p[at] ?? 0) | ((p[at + 1] ?? 0) << 8) | ((p[at + 2] ?? 0) << 16) | ((p[at + 3] ?? 0) << 24)) >>> 0;
}

/** PROTOCOL.md, "IDENTITY payload". */
function decodeIdentity(p: Uint8Array): Identity {
  if (p.length < 14) throw new MessageDecodeError(`IDENTITY payload of ${p.length} bytes is shorter than the 14-byte minimum`);
  const n = p[12] ?? 0;
  if (n > MAX_MODEL_LENGTH) throw new MessageDecodeError(`IDENTITY model length ${n} exceeds ${MAX_MODEL_LENGTH}`);
  if (p.length < 14 + n) throw new MessageDecodeError(`IDENTITY payload too short for a ${n}-byte model string`);
  const m = p[13 + n] ?? 0;
  if (m > MAX_APPLICATION_LENGTH) throw new MessageDecodeError(`IDENTITY application length ${m} exceeds ${MAX_APPLICATION_LENGTH}`);
  const end = 14 + n + m;
  if (p.length !== end && p.length !== end + 8) throw new MessageDecodeError(`IDENTITY payload must be ${end} bytes (or ${end + 8} with the image check), got ${p.length}`);
  const firmware = { major: p[1] ?? 0, minor: p[2] ?? 0, patch: p[3] ?? 0 };
  return {
    protocolVersion: p[0] ?? 0,
    firmware,
    firmwareVersion: `${firmware.major}.${firmware.minor}.${firmware.patch}`,
    serialNumber: Buffer.from(p.subarray(4, 12)).toString('hex'),
    model: Buffer.from(p.subarray(13, 13 + n)).toString('latin1'),
    application: Buffer.from(p.subarray(14 + n, 14 + n + m)).toString('latin1'),
    ...(p.length === end + 8 ? { imageCheck: { length: readU32(p, end), crc32: readU32(p, end + 4) } } : {}),
  };
}

function ascii(text: string, max: number, field: string): Uint8Array {
  if (text.length > max || !/^[\x20-\x7e]*$/.test(text)) throw new RangeError(`${field} must be printable ASCII of at most ${max} characters`);
  return Buffer.from(text, 'latin1');
}
