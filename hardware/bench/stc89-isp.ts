// A model of the STC89 series' ISP loader, written from the protocol as stcgal's authors
// published it (doc/reverse-engineering/stc89-protocol.txt and the Stc89Protocol class of
// stcgal/protocols.py), independently of the gateway's client in src/firmware/stc89.
//
// The loader runs only right after power-on: the bench opens its listen window then (see
// bench.ts) and hands it the first 0x7F; the loader answers with its status frame (which
// the real chip sends without the 46 B9 start), then serves commands until 0x82 resets
// the chip into the application. Frames: 46 B9 | 6A/68 | length u16 (direction..end) |
// payload | sum8(direction..payload) | 16.
import { ByteQueue, Cancelled } from './byte-queue.js';
import type { FlashMemory } from './flash-memory.js';

export interface Stc89IspIdentity {
  /** Model id, e.g. 0xF002 (STC89C52RC). */
  readonly magic: number;
  /** Loader version byte (0x43 = "4.3") and stepping letter. */
  readonly version: number;
  readonly stepping: string;
  /** The option byte: bit 0 set = 12 clocks per machine cycle. */
  readonly options: number;
  readonly clockHz: number;
  /** The rate the counters are measured at (the host's pulses). */
  readonly handshakeBaud: number;
}

export interface Stc89IspTarget {
  readonly flash: FlashMemory;
  readonly identity: Stc89IspIdentity;
  /** Loader → host bytes. */
  send(bytes: Uint8Array): void;
  flashChanged(): void;
  /** 0x82: the chip resets into its application. */
  reset(): void;
  commandReceived?(code: number): void;
  /** Option byte written (kept by the bench for the next status frame). */
  optionsChanged?(options: number): void;
}

const HOST = 0x6a;
const MCU = 0x68;
const BLOCK = 128;
/** Pause before answering a baud test/set at the new rate. */
const RATE_SWITCH_MS = 200;

export class Stc89IspLoader {
  private readonly target: Stc89IspTarget;
  private input: ByteQueue | undefined;
  private options: number;

  constructor(target: Stc89IspTarget) {
    this.target = target;
    this.options = target.identity.options;
  }

  get isRunning(): boolean {
    return this.input !== undefined;
  }

  /** The chip saw a sync pulse in its power-on window: answer with the status frame and serve. */
  start(): void {
    this.stop();
    const input = new ByteQueue();
    this.input = input;
    this.target.send(this.statusFrame());
    void this.serve(input);
  }

  stop(): void {
    this.input?.cancel();
    this.input = undefined;
  }

  receive(bytes: Uint8Array): void {
    this.input?.push(bytes);
  }

  /** 0x00, eight counters of machine cycles over 7 bit times, version, stepping, MSR, magic. */
  private statusFrame(): Uint8Array {
    const { identity } = this.target;
    const cycles = (identity.options & 1) === 1 ? 12 : 6;
    const counter = Math.round((identity.clockHz * 7) / (identity.handshakeBaud * cycles));
    const payload = [0x00];
    for (let i = 0; i < 8; i++) payload.push((counter >> 8) & 0xff, counter & 0xff);
    payload.push(identity.version, identity.stepping.charCodeAt(0), this.options, identity.magic >> 8, identity.magic & 0xff);
    while (payload.length < 54) payload.push(0);
    const frame = frameOf(payload);
    return frame.subarray(2); // no 46 B9 on the status frame
  }

  private reply(...payload: number[]): void {
    this.target.send(frameOf(payload));
  }

  private replyLater(ms: number, ...payload: number[]): void {
    const input = this.input;
    setTimeout(() => {
      if (this.input === input && input !== undefined) this.reply(...payload);
    }, ms);
  }

  private async serve(input: ByteQueue): Promise<void> {
    try {
      for (;;) {
        const payload = await readHostFrame(input);
        if (payload === undefined) continue; // bad frame: the loader ignores it
        const code = payload[0] ?? -1;
        this.target.commandReceived?.(code);
        if (code === 0x82) {
          this.input = undefined;
          this.target.reset();
          return;
        }
        this.execute(payload);
      }
    } catch (error) {
      if (!(error instanceof Cancelled)) throw error;
    }
  }

  private execute(payload: number[]): void {
    const code = payload[0];
    switch (code) {
      // Baud test and set: answered at the new rate (a pty carries every rate alike) after
      // a pause, as the chip does: the host waits ~100 ms for its frame to leave before it
      // switches its own UART (and a switch may throw away what arrived before it).
      case 0x8f:
        if (payload.length === 7) this.replyLater(RATE_SWITCH_MS, 0x8f);
        return;
      case 0x8e:
        if (payload.length === 6) this.replyLater(RATE_SWITCH_MS, 0x8e);
        return;
      case 0x80: // ping-pong after the switch
        this.reply(0x80);
        return;
      case 0x84: {
        // Erase: units of 256 bytes from 0, followed by six 0x33.
        if (payload.length !== 8 || payload.slice(2).some((b) => b !== 0x33)) return;
        const bytes = Math.min((payload[1] ?? 0) * 256, this.target.flash.geometry.size);
        const pageSize = this.target.flash.geometry.pageSize;
        for (let page = 0; page * pageSize < bytes; page++) this.target.flash.erasePage(page);
        this.target.flashChanged();
        this.reply(0x80);
        return;
      }
      case 0x00: {
        // Program: 00 00 00, address u16, size u16 (128), the data. Answer: 0x80 and the sum
        // of what the cells hold afterwards (programming only clears bits).
        const address = ((payload[3] ?? 0) << 8) | (payload[4] ?? 0);
        const size = ((payload[5] ?? 0) << 8) | (payload[6] ?? 0);
        if (size !== BLOCK || payload.length !== 7 + BLOCK) return;
        const data = Uint8Array.from(payload.slice(7));
        const inside = Math.max(0, Math.min(BLOCK, this.target.flash.geometry.size - address));
        if (inside > 0) this.target.flash.program(this.target.flash.geometry.base + address, data.subarray(0, inside));
        const stored = inside > 0 ? this.target.flash.read(this.target.flash.geometry.base + address, inside) : new Uint8Array(0);
        let sum = 0;
        for (const b of stored) sum = (sum + b) & 0xff;
        this.target.flashChanged();
        this.reply(0x80, sum);
        return;
      }
      case 0x8d: // option byte, then FF FF FF
        if (payload.length !== 5) return;
        this.options = payload[1] ?? this.options;
        this.target.optionsChanged?.(this.options);
        this.reply(0x8d);
        return;
      default:
        return; // unknown commands go unanswered
    }
  }
}

function frameOf(payload: readonly number[]): Uint8Array {
  const length = payload.length + 5;
  const bytes = [0x46, 0xb9, MCU, length >> 8, length & 0xff, ...payload];
  let sum = 0;
  for (let i = 2; i < bytes.length; i++) sum = (sum + (bytes[i] ?? 0)) & 0xff;
  bytes.push(sum, 0x16);
  return Uint8Array.from(bytes);
}

/** Hunt for 46 B9 6A, read the frame; undefined when its sum or end byte is wrong. */
async function readHostFrame(input: ByteQueue): Promise<number[] | undefined> {
  let previous = -1;
  for (;;) {
    const byte = await input.readByte();
    if (previous === 0x46 && byte === 0xb9) break;
    previous = byte;
  }
  const [direction, high, low] = await input.readBytes(3);
  if (direction !== HOST) return undefined;
  const length = ((high ?? 0) << 8) | (low ?? 0);
  if (length < 5 || length > 512) return undefined;
  const rest = await input.readBytes(length - 3);
  const payload = rest.slice(0, length - 5);
  let sum = (HOST + (high ?? 0) + (low ?? 0)) & 0xff;
  for (const b of payload) sum = (sum + b) & 0xff;
  if (rest[length - 5] !== sum || rest[length - 4] !== 0x16) return undefined;
  return payload;
}
