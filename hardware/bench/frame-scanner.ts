// Just enough of the link framing (hardware/PROTOCOL.md) for the bench to watch what
// the MCU says: find frame boundaries (to slip garbage in between frames), spot
// ENTER_BOOTLOADER_ACK, and answer its own boot probe. Same resynchronisation rule as
// the spec: on a bad length or CRC drop only the SOF byte and hunt again.

export const FRAME_SOF = 0xa5;
export const FRAME_MAX_PAYLOAD = 64;
const FRAME_OVERHEAD = 6;

export const MESSAGE = {
  ping: 0x01,
  pong: 0x81,
  enterBootloaderAck: 0x84,
} as const;

export interface LinkFrame {
  readonly type: number;
  readonly seq: number;
  readonly payload: Uint8Array;
}

/** CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor. */
export function crc16CcittFalse(bytes: Uint8Array): number {
  let crc = 0xffff;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc;
}

export function encodeFrame(type: number, seq: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (payload.length > FRAME_MAX_PAYLOAD) throw new RangeError('payload too long');
  const body = Uint8Array.of(payload.length, type, seq, ...payload);
  const crc = crc16CcittFalse(body);
  return Uint8Array.of(FRAME_SOF, ...body, crc >> 8, crc & 0xff);
}

export class FrameScanner {
  private pending: number[] = [];

  /** True when no partial frame is buffered: the stream is between frames. */
  get betweenFrames(): boolean {
    return this.pending.length === 0;
  }

  reset(): void {
    this.pending = [];
  }

  /**
   * Feeds one byte; returns the frames it completes. Usually none or one, but after a
   * failed candidate the rescan can find a frame with another complete one behind it.
   */
  push(byte: number): LinkFrame[] {
    this.pending.push(byte);
    const found: LinkFrame[] = [];
    for (;;) {
      const sof = this.pending[0];
      if (sof === undefined) return found;
      if (sof !== FRAME_SOF) {
        this.pending.shift();
        continue;
      }
      const length = this.pending[1];
      if (length === undefined) return found;
      if (length > FRAME_MAX_PAYLOAD) {
        this.pending.shift();
        continue;
      }
      const total = length + FRAME_OVERHEAD;
      if (this.pending.length < total) return found;
      const candidate = Uint8Array.from(this.pending.slice(0, total));
      const crc = crc16CcittFalse(candidate.subarray(1, total - 2));
      if (candidate[total - 2] === crc >> 8 && candidate[total - 1] === (crc & 0xff)) {
        this.pending.splice(0, total);
        found.push({ type: candidate[2] ?? 0, seq: candidate[3] ?? 0, payload: candidate.slice(4, 4 + length) });
      } else {
        this.pending.shift();
      }
    }
  }
}
