/**
 * A scripted MCU on the far end of a memory link, speaking PROTOCOL.md from the
 * MCU side. Written for the tests; behaviour switches let a test drop requests
 * or answer with ERROR.
 */
import type { ByteLink } from '../../../../src/firmware/link/byte-link.js';
import type { Frame } from '../../../../src/firmware/mculink/frame-codec.js';
import { encodeFrame, FrameDecoder } from '../../../../src/firmware/mculink/frame-codec.js';
import type { Identity } from '../../../../src/firmware/mculink/messages.js';
import { encodeMessage } from '../../../../src/firmware/mculink/messages.js';
import { encodeTelemetry } from '../../../../src/firmware/mculink/telemetry.js';

export const IDENTITY: Identity = {
  protocolVersion: 1,
  firmware: { major: 1, minor: 4, patch: 2 },
  firmwareVersion: '1.4.2',
  serialNumber: 'a1b2c3d4e5f60718',
  model: 'stm32f103',
  application: 'tilt',
};

export class FakeMcu {
  readonly received: Frame[] = [];
  /** Requests to ignore before answering (per type). */
  readonly drop = new Map<number, number>();
  /** Types answered with ERROR (code). */
  readonly errors = new Map<number, number>();
  /** Set after ENTER_BOOTLOADER: frames are no longer parsed. */
  inBootloader = false;
  #telemetrySeq = 0;
  readonly #link: ByteLink;
  readonly #decoder: FrameDecoder;

  constructor(link: ByteLink) {
    this.#link = link;
    this.#decoder = new FrameDecoder({ onFrame: (f) => this.#onFrame(f) });
    link.onData((b) => {
      if (!this.inBootloader) this.#decoder.push(b);
    });
  }

  sendTelemetry(uptimeMs: number, channels: { id: number; raw: number }[]): Promise<void> {
    this.#telemetrySeq = (this.#telemetrySeq + 1) & 0xff;
    return this.#link.write(encodeFrame({ type: 0x10, seq: this.#telemetrySeq, payload: encodeTelemetry(uptimeMs, channels) }));
  }

  #onFrame(frame: Frame): void {
    this.received.push(frame);
    const pendingDrops = this.drop.get(frame.type) ?? 0;
    if (pendingDrops > 0) {
      this.drop.set(frame.type, pendingDrops - 1);
      return;
    }
    const code = this.errors.get(frame.type);
    if (code !== undefined) {
      this.#reply(frame.seq, { type: 0x7f, payload: Uint8Array.of(frame.type, code) });
      return;
    }
    switch (frame.type) {
      case 0x01:
        this.#reply(frame.seq, encodeMessage({ kind: 'pong', data: frame.payload }));
        break;
      case 0x02:
        this.#reply(frame.seq, encodeMessage({ kind: 'identity', identity: IDENTITY }));
        break;
      case 0x03: {
        const ms = (frame.payload[0] ?? 0) | ((frame.payload[1] ?? 0) << 8);
        this.#reply(frame.seq, encodeMessage({ kind: 'set-rate-ack', intervalMs: ms }));
        break;
      }
      case 0x04:
        this.#reply(frame.seq, encodeMessage({ kind: 'enter-bootloader-ack' }));
        this.inBootloader = true;
        break;
      default:
        this.#reply(frame.seq, { type: 0x7f, payload: Uint8Array.of(frame.type, 1) });
    }
  }

  #reply(seq: number, message: { type: number; payload: Uint8Array }): void {
    void this.#link.write(encodeFrame({ type: message.type, seq, payload: message.payload }));
  }
}
