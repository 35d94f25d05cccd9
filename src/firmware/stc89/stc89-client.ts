/**
 * Host side of the STC89 ISP loader (wire.ts has the frame format and the sources). The
 * loader runs only in the first moments after power-on, and only if the host is already
 * sending sync pulses then: `connect` pulses 0x7F while the caller cycles the power, and
 * reads the status frame. Then the baud switch, erase, programming in 128-byte blocks
 * (each answered with the sum of what the chip stored: the protocol's verification),
 * the option byte, and a reset into the application.
 */
import type { Clock, TimerHandle } from '../clock.js';
import { ByteReader, ReadTimeoutError } from '../an3155/byte-reader.js';
import type { ByteLink } from '../link/byte-link.js';
import {
  baudSetPayload, baudSettings, baudTestPayload, clockHz, Command, encodeFrame, erasePayload, hex2, optionsPayload, parseStatus,
  pingPayload, programPayload, resetPayload, scanFrame, Stc89Error, SYNC_PULSE, type BaudSettings, type Stc89Status,
} from './wire.js';
import { errorMessage } from '../../common/errors.js';

export interface Stc89Timeouts {
  /** Between sync pulses while waiting for the chip (stcgal uses 30 ms). */
  readonly pulseMs: number;
  /** For any answer frame once the loader talks. */
  readonly answerMs: number;
  /** For the answer to an erase (the whole code flash on the 89 series takes up to a second or two). */
  readonly eraseMs: number;
}

/** Longest pause inside the status frame: 20 byte times at the 2400 baud handshake rate. */
const STATUS_GAP_MS = 100;

export const DEFAULT_STC89_TIMEOUTS: Stc89Timeouts = { pulseMs: 30, answerMs: 1500, eraseMs: 10_000 };

export interface Stc89ClientOptions {
  readonly link: ByteLink;
  readonly clock: Clock;
  /** The rate the loader listens at after power-on (it measures the pulses). Default 2400. */
  readonly handshakeBaud?: number;
  /** The rate to switch to for programming. Default: the handshake rate (no switch on the wire). */
  readonly transferBaud?: number;
  readonly timeouts?: Partial<Stc89Timeouts>;
}

export interface Stc89Session {
  readonly status: Stc89Status;
  readonly clockHz: number;
  readonly baud?: BaudSettings;
}

export class Stc89Client {
  readonly #link: ByteLink;
  readonly #clock: Clock;
  readonly #reader: ByteReader;
  readonly #handshakeBaud: number;
  readonly #transferBaud: number;
  readonly timeouts: Stc89Timeouts;
  #status: Stc89Status | undefined;
  #buffer = new Uint8Array(0);

  constructor(options: Stc89ClientOptions) {
    this.#link = options.link;
    this.#clock = options.clock;
    this.#reader = new ByteReader(options.link, options.clock);
    this.#handshakeBaud = options.handshakeBaud ?? 2400;
    this.#transferBaud = options.transferBaud ?? this.#handshakeBaud;
    this.timeouts = { ...DEFAULT_STC89_TIMEOUTS, ...options.timeouts };
  }

  get status(): Stc89Status | undefined {
    return this.#status;
  }

  /**
   * Pulse 0x7F every `pulseMs` from before the power cycle until the chip answers, then read
   * its status frame. `powerCycle` runs while the pulses go out; `timeoutMs` bounds the whole
   * wait (a chip never power-cycled stays in its application and never answers).
   */
  async connect(powerCycle: () => Promise<void>, timeoutMs: number): Promise<Stc89Session> {
    await this.#link.setBaudRate?.(this.#handshakeBaud);
    this.#reader.discard();
    this.#buffer = new Uint8Array(0);
    const deadline = this.#clock.now() + timeoutMs;
    let cycled = false;
    let cycleError: unknown;
    const cycling = powerCycle().then(
      () => {
        cycled = true;
      },
      (err: unknown) => {
        cycleError = err;
      },
    );
    const pulse = Uint8Array.of(SYNC_PULSE);
    for (;;) {
      if (cycleError !== undefined) throw powerCycleFailed(cycleError);
      if (this.#clock.now() >= deadline) {
        throw new Stc89Error('no-power-cycle', `the STC89 loader did not answer the sync pulses within ${Math.round(timeoutMs / 1000)} s (was the chip's power cycled while they were sent?)`);
      }
      await this.#write(pulse);
      let first: number;
      try {
        first = await this.#reader.readByte(this.timeouts.pulseMs);
      } catch (err) {
        if (err instanceof ReadTimeoutError) continue;
        throw closed(err);
      }
      // Bytes before the power is back come from the application (telemetry): keep pulsing.
      if (!cycled) continue;
      this.#buffer = Uint8Array.of(first);
      try {
        // The status frame follows its first byte without pause; a gap means it was
        // something else (the application, noise), and the pulses must go on.
        const payload = await this.#readFrame(this.timeouts.answerMs, true, STATUS_GAP_MS);
        const status = parseStatus(payload);
        this.#status = status;
        await cycling;
        return { status, clockHz: clockHz(status, this.#handshakeBaud) };
      } catch (err) {
        if (!(err instanceof Stc89Error) || err.code === 'closed') throw err;
        this.#buffer = new Uint8Array(0);
      }
    }
  }

  /**
   * "Baudrate handshake": test the new rate, set it, then the ping-pong at the new rate.
   * Links without rate settings (pseudo-terminals) carry every rate alike.
   */
  async switchBaud(session: Stc89Session): Promise<BaudSettings> {
    const settings = baudSettings(session.clockHz, session.status.sixClock, this.#transferBaud);
    if (settings.errorPercent > 5) {
      throw new Stc89Error('unexpected', `${this.#transferBaud} baud is ${settings.errorPercent.toFixed(1)} % off at a ${(session.clockHz / 1e6).toFixed(3)} MHz clock: pick a slower rate`);
    }
    await this.#command(baudTestPayload(settings), Command.BAUD_TEST, this.timeouts.answerMs, this.#transferBaud);
    await this.#link.setBaudRate?.(this.#handshakeBaud);
    await this.#command(baudSetPayload(settings), Command.BAUD_SET, this.timeouts.answerMs, this.#transferBaud);
    for (let i = 0; i < 4; i++) await this.#command(pingPayload(session.status.magic), Command.OK, this.timeouts.answerMs);
    return settings;
  }

  /** Erase the code flash from address 0 far enough to hold `bytes`. */
  async erase(bytes: number): Promise<void> {
    await this.#command(erasePayload(bytes), Command.OK, this.timeouts.eraseMs);
  }

  /** Program one block; the chip answers the sum of what it stored, compared here. */
  async program(address: number, data: Uint8Array): Promise<void> {
    const { payload, sum } = programPayload(address, data);
    const answer = await this.#command(payload, Command.OK, this.timeouts.answerMs);
    if (answer.length < 2) throw new Stc89Error('unexpected', `program answer at 0x${address.toString(16)} carries no checksum`);
    if (answer[1] !== sum) {
      throw new Stc89Error('verify', `block at 0x${address.toString(16).padStart(4, '0')}: the chip stored sum 0x${hex2(answer[1] ?? 0)}, sent 0x${hex2(sum)}`);
    }
  }

  async setOptions(msr: number): Promise<void> {
    await this.#command(optionsPayload(msr), Command.OPTIONS, this.timeouts.answerMs);
  }

  /** Reset into the application (not answered), and give the link back at the handshake rate. */
  async reset(applicationBaud?: number): Promise<void> {
    await this.#write(encodeFrame(resetPayload()));
    if (applicationBaud !== undefined && this.#link.setBaudRate) {
      // As in the baud switch: the frame must have left the UART before its rate changes.
      await sleep(this.#clock, 100);
      await this.#link.setBaudRate(applicationBaud);
    }
  }

  dispose(): void {
    this.#reader.dispose();
  }

  async #command(payload: Uint8Array, answer: number, timeoutMs: number, answerBaud?: number): Promise<Uint8Array> {
    this.#reader.discard();
    this.#buffer = new Uint8Array(0);
    await this.#write(encodeFrame(payload));
    if (answerBaud !== undefined && this.#link.setBaudRate) {
      // The frame must have left the UART before its rate changes (stcgal waits 100 ms too).
      await sleep(this.#clock, 100);
      await this.#link.setBaudRate(answerBaud);
    }
    const reply = await this.#readFrame(timeoutMs, false);
    if (reply[0] !== answer) {
      throw new Stc89Error('unexpected', `command 0x${hex2(payload[0] ?? 0)} was answered 0x${hex2(reply[0] ?? 0)}, expected 0x${hex2(answer)}`);
    }
    return reply;
  }

  /** Bytes until one whole MCU frame; `statusFrame` skips leftover sync echoes before it. */
  async #readFrame(timeoutMs: number, statusFrame: boolean, gapMs = timeoutMs): Promise<Uint8Array> {
    const deadline = this.#clock.now() + timeoutMs;
    for (;;) {
      const scan = scanFrame(this.#buffer);
      if (scan.kind === 'frame') return scan.payload;
      if (scan.kind === 'skip') {
        this.#buffer = this.#buffer.slice(scan.consumed);
        continue;
      }
      if (scan.kind === 'bad') {
        if (statusFrame) {
          this.#buffer = this.#buffer.slice(1);
          continue;
        }
        throw new Stc89Error(scan.code, `bad frame from the STC89 loader: ${scan.why}`);
      }
      const left = deadline - this.#clock.now();
      if (left <= 0) throw new Stc89Error('timeout', `the STC89 loader did not answer within ${timeoutMs} ms`);
      let byte: number;
      try {
        byte = await this.#reader.readByte(Math.min(left, gapMs));
      } catch (err) {
        if (err instanceof ReadTimeoutError) throw new Stc89Error('timeout', `the STC89 loader did not answer within ${timeoutMs} ms`);
        throw closed(err);
      }
      const grown = new Uint8Array(this.#buffer.length + 1);
      grown.set(this.#buffer);
      grown[this.#buffer.length] = byte;
      this.#buffer = grown;
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    try {
      await this.#link.write(bytes);
    } catch (err) {
      throw closed(err);
    }
  }
}

function closed(err: unknown): Stc89Error {
  if (err instanceof Stc89Error) return err;
  const why = errorMessage(err);
  return new Stc89Error('closed', `serial link failed: ${why}`, { cause: err });
}

function powerCycleFailed(err: unknown): Stc89Error {
  const why = errorMessage(err);
  return new Stc89Error('no-power-cycle', `could not power-cycle the chip: ${why}`, { cause: err });
}

/** Wait on the injected clock. */
export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const handle: TimerHandle = clock.setTimeout(() => resolve(), ms);
    void handle;
  });
}
