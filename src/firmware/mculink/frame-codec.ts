/**
 * MCU link framing (PROTOCOL.md, "Frame" and "Resynchronisation"):
 *   SOF 0xA5 | LEN | TYPE | SEQ | PAYLOAD (LEN ≤ 64) | CRC16 big-endian over LEN..PAYLOAD
 * The decoder is a streaming state machine fed arbitrary chunks. On a bad length or
 * CRC it drops only the SOF byte and rescans, so a real frame hidden after a false
 * SOF in garbage is still found; a partial frame idle for 100 ms is dropped the same
 * way (host-side rule of the spec), timed by an injected clock.
 */
import type { Clock, TimerHandle } from '../clock.js';
import { crc16Ccitt } from './crc16-ccitt.js';

export const SOF = 0xa5;
export const MAX_PAYLOAD = 64;
/** SOF + LEN + TYPE + SEQ + CRC(2). */
export const FRAME_OVERHEAD = 6;
export const PARTIAL_FRAME_TIMEOUT_MS = 100;

export interface Frame {
  readonly type: number;
  readonly seq: number;
  readonly payload: Uint8Array;
}

export class FrameEncodeError extends Error {
  override name = 'FrameEncodeError';
}

export function encodeFrame(frame: Frame): Uint8Array {
  const { type, seq, payload } = frame;
  if (payload.length > MAX_PAYLOAD) throw new FrameEncodeError(`payload of ${payload.length} bytes exceeds the ${MAX_PAYLOAD}-byte limit`);
  if (!isByte(type) || !isByte(seq)) throw new FrameEncodeError(`type 0x${type.toString(16)} and seq ${seq} must be bytes`);
  const out = new Uint8Array(payload.length + FRAME_OVERHEAD);
  out[0] = SOF;
  out[1] = payload.length;
  out[2] = type;
  out[3] = seq;
  out.set(payload, 4);
  const crc = crc16Ccitt(out, 1, 4 + payload.length);
  out[4 + payload.length] = crc >> 8;
  out[5 + payload.length] = crc & 0xff;
  return out;
}

function isByte(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xff;
}

/** Counters for diagnostics (agent metrics, `describe mcu`). */
export interface DecoderStats {
  /** Valid frames delivered. */
  frames: number;
  /** Bytes discarded: garbage while hunting, dropped SOFs, stale partial frames. */
  droppedBytes: number;
  /** Candidate frames rejected because the CRC did not match. */
  badCrc: number;
  /** Candidate frames rejected because LEN was above 64. */
  badLength: number;
  /** Partial frames abandoned after the idle timeout. */
  timeouts: number;
}

export interface FrameDecoderOptions {
  readonly onFrame: (frame: Frame) => void;
  /** Without a clock a partial frame waits forever (fine for fixtures and MCUs). */
  readonly clock?: Clock;
  readonly partialTimeoutMs?: number;
}

export class FrameDecoder {
  readonly #onFrame: (frame: Frame) => void;
  readonly #clock: Clock | undefined;
  readonly #timeoutMs: number;
  #buf = new Uint8Array(256);
  #start = 0;
  #end = 0;
  #timer: TimerHandle | undefined;
  readonly #stats: DecoderStats = { frames: 0, droppedBytes: 0, badCrc: 0, badLength: 0, timeouts: 0 };

  constructor(options: FrameDecoderOptions) {
    this.#onFrame = options.onFrame;
    this.#clock = options.clock;
    this.#timeoutMs = options.partialTimeoutMs ?? PARTIAL_FRAME_TIMEOUT_MS;
  }

  /** A snapshot of the counters. */
  get stats(): DecoderStats {
    return { ...this.#stats };
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#append(bytes);
    const frames = this.#scan();
    this.#armTimer();
    // Deliver after the state is consistent, so a handler may push again.
    for (const f of frames) this.#onFrame(f);
  }

  /** Drop everything buffered (e.g. when the link is handed to a bootloader). */
  reset(): void {
    this.#stats.droppedBytes += this.buffered;
    this.#start = this.#end = 0;
    this.#cancelTimer();
  }

  dispose(): void {
    this.#cancelTimer();
  }

  #append(bytes: Uint8Array): void {
    const held = this.#end - this.#start;
    if (this.#end + bytes.length > this.#buf.length) {
      const next = held + bytes.length > this.#buf.length ? new Uint8Array(Math.max(held + bytes.length, this.#buf.length * 2)) : this.#buf;
      next.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = next;
      this.#start = 0;
      this.#end = held;
    }
    this.#buf.set(bytes, this.#end);
    this.#end += bytes.length;
  }

  /** Extract every complete valid frame; leaves at most one partial frame buffered. */
  #scan(): Frame[] {
    const frames: Frame[] = [];
    const buf = this.#buf;
    for (;;) {
      // Hunting: discard everything up to the next SOF.
      while (this.#start < this.#end && buf[this.#start] !== SOF) {
        this.#start++;
        this.#stats.droppedBytes++;
      }
      const avail = this.#end - this.#start;
      if (avail < 2) break;
      const len = buf[this.#start + 1] ?? 0;
      if (len > MAX_PAYLOAD) {
        this.#stats.badLength++;
        this.#dropSof();
        continue;
      }
      if (avail < len + FRAME_OVERHEAD) break;
      const s = this.#start;
      const crc = crc16Ccitt(buf, s + 1, s + 4 + len);
      const sent = ((buf[s + 4 + len] ?? 0) << 8) | (buf[s + 5 + len] ?? 0);
      if (crc !== sent) {
        this.#stats.badCrc++;
        this.#dropSof();
        continue;
      }
      frames.push({ type: buf[s + 2] ?? 0, seq: buf[s + 3] ?? 0, payload: buf.slice(s + 4, s + 4 + len) });
      this.#stats.frames++;
      this.#start += len + FRAME_OVERHEAD;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return frames;
  }

  /** The resync rule: only the SOF goes, the bytes after it are scanned again. */
  #dropSof(): void {
    this.#start++;
    this.#stats.droppedBytes++;
  }

  #armTimer(): void {
    this.#cancelTimer();
    if (this.#clock === undefined || this.buffered === 0) return;
    this.#timer = this.#clock.setTimeout(() => this.#expire(), this.#timeoutMs);
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) this.#clock?.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * The partial frame went stale. Drop its SOF and rescan: a complete frame that a
   * false SOF with a large LEN was hiding is still delivered. Every byte buffered is
   * at least as old as the timeout, so whatever is still incomplete goes too.
   */
  #expire(): void {
    this.#timer = undefined;
    this.#stats.timeouts++;
    const frames: Frame[] = [];
    while (this.buffered > 0) {
      this.#dropSof();
      frames.push(...this.#scan());
    }
    for (const f of frames) this.#onFrame(f);
  }
}
