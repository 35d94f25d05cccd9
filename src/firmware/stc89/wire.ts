/**
 * The byte format of the STC89 series' ISP loader (the "STC89" protocol as published by the
 * stcgal project in doc/reverse-engineering/stc89-protocol.txt and stcgal/protocols.py,
 * class Stc89Protocol; section names below refer to that description). Pure functions:
 * no I/O, no clock.
 *
 * Frame (both directions):
 *   0x46 0xB9 | direction (0x6A host→MCU, 0x68 MCU→host) | length u16 BE | payload | sum | 0x16
 * `length` counts from the direction byte to the end byte (payload + 5); `sum` is the
 * modulo-256 sum of the bytes from the direction byte to the end of the payload. The
 * STC89 loader sends its first (status) frame without the 0x46 0xB9 start.
 */

export const FRAME_START = Uint8Array.of(0x46, 0xb9);
export const FRAME_END = 0x16;
export const DIRECTION_HOST = 0x6a;
export const DIRECTION_MCU = 0x68;
/** The synchronisation pulse the host repeats while the chip powers up. */
export const SYNC_PULSE = 0x7f;
/** Bytes per program command (the loader's RAM buffer on the 89 series). */
export const PROGRAM_BLOCK = 128;
/** Erase counts in 256-byte units, two per 512-byte sector. */
export const ERASE_UNIT = 256;

/** First payload byte: what a frame asks for or answers. */
export const Command = {
  STATUS: 0x00,
  PROGRAM: 0x00,
  OK: 0x80,
  PING: 0x80,
  RESET: 0x82,
  ERASE: 0x84,
  OPTIONS: 0x8d,
  BAUD_SET: 0x8e,
  BAUD_TEST: 0x8f,
} as const;

export type Stc89ErrorCode = 'timeout' | 'framing' | 'checksum' | 'unexpected' | 'verify' | 'closed' | 'no-power-cycle';

/** Every failure of the ISP exchange, with a code callers branch on (never the message). */
export class Stc89Error extends Error {
  override name = 'Stc89Error';
  constructor(
    readonly code: Stc89ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function sum8(bytes: Uint8Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s = (s + (bytes[i] ?? 0)) & 0xff;
  return s;
}

/** A host → MCU frame around `payload`. */
export function encodeFrame(payload: Uint8Array, direction = DIRECTION_HOST): Uint8Array {
  const length = payload.length + 5;
  const out = new Uint8Array(payload.length + 7);
  out.set(FRAME_START, 0);
  out[2] = direction;
  out[3] = length >> 8;
  out[4] = length & 0xff;
  out.set(payload, 5);
  out[5 + payload.length] = sum8(out, 2, 5 + payload.length);
  out[6 + payload.length] = FRAME_END;
  return out;
}

export type FrameScan =
  | { readonly kind: 'frame'; readonly payload: Uint8Array; readonly direction: number; readonly consumed: number }
  | { readonly kind: 'need-more' }
  | { readonly kind: 'skip'; readonly consumed: number; readonly why: string }
  | { readonly kind: 'bad'; readonly consumed: number; readonly code: 'framing' | 'checksum'; readonly why: string };

/**
 * Find the next frame at the start of `buffer`. Bytes before a frame start (sync pulses
 * echoed back, line noise) are skipped; a frame may begin with the direction byte alone
 * (the status frame). `expectDirection` is the direction the reader waits for.
 */
export function scanFrame(buffer: Uint8Array, expectDirection = DIRECTION_MCU): FrameScan {
  let start = 0;
  while (start < buffer.length && buffer[start] !== FRAME_START[0] && buffer[start] !== expectDirection) start++;
  if (start > 0) return { kind: 'skip', consumed: start, why: 'bytes before a frame start' };
  if (buffer.length === 0) return { kind: 'need-more' };
  let head = 0;
  if (buffer[0] === FRAME_START[0]) {
    if (buffer.length < 2) return { kind: 'need-more' };
    if (buffer[1] !== FRAME_START[1]) return { kind: 'skip', consumed: 1, why: 'a lone 0x46' };
    head = 2;
  }
  if (buffer.length < head + 3) return { kind: 'need-more' };
  const direction = buffer[head] ?? 0;
  if (direction !== expectDirection) return { kind: 'bad', consumed: head + 1, code: 'framing', why: `direction 0x${hex2(direction)}, expected 0x${hex2(expectDirection)}` };
  const length = ((buffer[head + 1] ?? 0) << 8) | (buffer[head + 2] ?? 0);
  if (length < 5 || length > 1024) return { kind: 'bad', consumed: head + 1, code: 'framing', why: `impossible length ${length}` };
  const total = head + length;
  if (buffer.length < total) return { kind: 'need-more' };
  if (buffer[total - 1] !== FRAME_END) return { kind: 'bad', consumed: total, code: 'framing', why: 'no 0x16 at the end of the frame' };
  const sum = buffer[total - 2] ?? 0;
  const expected = sum8(buffer, head, total - 2);
  if (sum !== expected) return { kind: 'bad', consumed: total, code: 'checksum', why: `checksum 0x${hex2(sum)}, computed 0x${hex2(expected)}` };
  return { kind: 'frame', direction, payload: buffer.slice(head + 3, total - 2), consumed: total };
}

export interface Stc89Status {
  /** The model id ("magic"), e.g. 0xF002 for the STC89C52RC. */
  readonly magic: number;
  /** Loader version as the chip names it, e.g. "4.3C". */
  readonly bootloaderVersion: string;
  /** The option byte (MSR): bit 0 clear means 6 clocks per machine cycle. */
  readonly options: number;
  readonly sixClock: boolean;
  /** The eight counter values the loader measured over the host's sync pulses. */
  readonly counters: readonly number[];
}

/** Status payload (after the direction and length): 0x00, 8 × u16 counters, version, stepping, MSR, magic. */
export function parseStatus(payload: Uint8Array): Stc89Status {
  if (payload.length < 23) throw new Stc89Error('unexpected', `status packet too short (${payload.length} bytes, at least 23 expected)`);
  if (payload[0] !== Command.STATUS) throw new Stc89Error('unexpected', `status packet starts with 0x${hex2(payload[0] ?? 0)}, not 0x00`);
  const counters: number[] = [];
  for (let i = 0; i < 8; i++) counters.push(((payload[1 + 2 * i] ?? 0) << 8) | (payload[2 + 2 * i] ?? 0));
  const version = payload[17] ?? 0;
  const stepping = payload[18] ?? 0;
  const options = payload[19] ?? 0;
  return {
    magic: ((payload[20] ?? 0) << 8) | (payload[21] ?? 0),
    bootloaderVersion: `${version >> 4}.${version & 0x0f}${String.fromCharCode(stepping)}`,
    options,
    sixClock: (options & 1) === 0,
    counters,
  };
}

/**
 * The chip's clock from the counters: each counts machine cycles over 7 bit times of the
 * handshake rate, so f = baud × mean × clocks-per-cycle / 7.
 */
export function clockHz(status: Stc89Status, handshakeBaud: number): number {
  const mean = status.counters.reduce((a, b) => a + b, 0) / status.counters.length;
  return (handshakeBaud * mean * (status.sixClock ? 6 : 12)) / 7;
}

export interface BaudSettings {
  /** Timer reload value for the transfer rate. */
  readonly reload: number;
  readonly reloadCheck: number;
  /** The rate the reload really gives, and its error against the one asked for (percent). */
  readonly actualBaud: number;
  readonly errorPercent: number;
  /** Wait states for programming, by clock (the 89 series datasheet's table). */
  readonly iapWait: number;
  /** How long the loader waits after switching (a constant stcgal found to work). */
  readonly delay: number;
}

/** The UART samples 32 times per bit in 12-clock mode, 16 in 6-clock mode. */
export function baudSettings(clock: number, sixClock: boolean, baud: number): BaudSettings {
  const sample = sixClock ? 16 : 32;
  const divisor = Math.max(1, Math.round(clock / (baud * sample)));
  const reload = 65536 - divisor;
  const actualBaud = clock / (sample * divisor);
  const iapWait = clock < 5e6 ? 0x83 : clock < 10e6 ? 0x82 : clock < 20e6 ? 0x81 : 0x80;
  return {
    reload,
    reloadCheck: (-2 * reload) & 0xff,
    actualBaud,
    errorPercent: (Math.abs(baud - actualBaud) * 100) / baud,
    iapWait,
    delay: 0xa0,
  };
}

/** "Baudrate handshake", test step: the loader answers 0x8F at the new rate, then returns to the old. */
export function baudTestPayload(s: BaudSettings): Uint8Array {
  return Uint8Array.of(Command.BAUD_TEST, s.reload >> 8, s.reload & 0xff, 0xff - (s.reload >> 8), s.reloadCheck, s.delay, s.iapWait);
}

/** "Baudrate handshake", set step: the same without the wait states; answered 0x8E at the new rate. */
export function baudSetPayload(s: BaudSettings): Uint8Array {
  return Uint8Array.of(Command.BAUD_SET, s.reload >> 8, s.reload & 0xff, 0xff - (s.reload >> 8), s.reloadCheck, s.delay);
}

/** The ping-pong after the switch ("a special ping-pong sequence of 0x80 type packets"). */
export function pingPayload(magic: number): Uint8Array {
  return Uint8Array.of(Command.PING, 0x00, 0x00, 0x36, 0x01, magic >> 8, magic & 0xff);
}

/** "Erase procedure": the number of 256-byte units from address 0, then six 0x33. */
export function erasePayload(bytes: number): Uint8Array {
  const units = Math.ceil(bytes / 512) * 2;
  if (units > 0xff) throw new RangeError(`cannot erase ${bytes} bytes in one command`);
  return Uint8Array.of(Command.ERASE, units, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33);
}

/**
 * One program block: three zero bytes, address u16 BE, block size u16 BE, then exactly
 * PROGRAM_BLOCK data bytes (a short last block is padded with 0xFF, the erased value, so
 * flash past the image stays erased). The loader answers 0x80 and the sum of the data.
 */
export function programPayload(address: number, data: Uint8Array): { payload: Uint8Array; sum: number } {
  if (data.length > PROGRAM_BLOCK) throw new RangeError(`a program block holds at most ${PROGRAM_BLOCK} bytes`);
  if (address < 0 || address > 0xffff) throw new RangeError('STC89 addresses are 16 bits');
  const payload = new Uint8Array(7 + PROGRAM_BLOCK).fill(0xff);
  payload.set([0, 0, 0, address >> 8, address & 0xff, PROGRAM_BLOCK >> 8, PROGRAM_BLOCK & 0xff], 0);
  payload.set(data, 7);
  return { payload, sum: sum8(payload, 7, payload.length) };
}

/** "Options": the single option byte, then three 0xFF. Answered 0x8D. */
export function optionsPayload(msr: number): Uint8Array {
  return Uint8Array.of(Command.OPTIONS, msr & 0xff, 0xff, 0xff, 0xff);
}

/** Leave the loader: the chip resets into the application. Not answered. */
export function resetPayload(): Uint8Array {
  return Uint8Array.of(Command.RESET);
}

export function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}
