/**
 * The MCU session: the domain API of the MCU link over a ByteLink ("Serial as
 * layers": byte link → framing → request matcher → session). The session does not
 * own the link: whoever created the link closes it.
 */
import type { Clock } from '../clock.js';
import type { ByteLink, Unsubscribe } from '../link/byte-link.js';
import { LinkClosedError, Listeners } from '../link/byte-link.js';
import type { DecoderStats, Frame } from './frame-codec.js';
import { encodeFrame, FrameDecoder } from './frame-codec.js';
import type { Identity } from './messages.js';
import { decodeMessage, encodeMessage, MessageDecodeError, MessageType } from './messages.js';
import type { MatcherStats } from './request-matcher.js';
import { RequestMatcher, RequestsClosedError, RequestTimeoutError } from './request-matcher.js';
import type { Telemetry } from './telemetry.js';

export interface McuSessionOptions {
  readonly link: ByteLink;
  readonly clock: Clock;
  /** Per attempt. A 70-byte frame takes 6 ms at 115200 baud; the MCUs answer at once. */
  readonly requestTimeoutMs?: number;
  /** Extra attempts after a timeout (idempotent requests only). Default 1. */
  readonly retries?: number;
  /** Telemetry frames kept per iterator for a slow consumer; the oldest go first. */
  readonly telemetryBuffer?: number;
}

export interface SessionStats {
  readonly decoder: DecoderStats;
  readonly requests: MatcherStats;
  readonly telemetry: number;
  /** Unsolicited frames that were not valid TELEMETRY. */
  readonly undecodable: number;
  /** Telemetry discarded because an iterator's consumer fell behind. */
  readonly telemetryDropped: number;
}

/** SET_RATE: "u16 telemetry interval in ms (0 = stop, min 50)". */
export const MIN_TELEMETRY_INTERVAL_MS = 50;

export class McuSession {
  readonly #link: ByteLink;
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #bufferLimit: number;
  readonly #decoder: FrameDecoder;
  readonly #matcher: RequestMatcher;
  readonly #telemetry = new Listeners<[Telemetry]>();
  readonly #closeListeners = new Listeners<[Error | undefined]>();
  readonly #unsubscribe: Unsubscribe[];
  readonly #createdAt: number;
  #lastHeardAt: number | undefined;
  #closed = false;
  #counts = { telemetry: 0, undecodable: 0, telemetryDropped: 0 };

  constructor(options: McuSessionOptions) {
    this.#link = options.link;
    this.#clock = options.clock;
    this.#timeoutMs = options.requestTimeoutMs ?? 500;
    this.#retries = options.retries ?? 1;
    this.#bufferLimit = options.telemetryBuffer ?? 256;
    this.#createdAt = this.#clock.now();
    this.#decoder = new FrameDecoder({ clock: this.#clock, onFrame: (f) => this.#onFrame(f) });
    this.#matcher = new RequestMatcher({ clock: this.#clock, send: (f) => this.#link.write(encodeFrame(f)) });
    this.#unsubscribe = [
      this.#link.onData((bytes) => this.#decoder.push(bytes)),
      this.#link.onClose((err) => this.#end(new LinkClosedError('link closed', { cause: err }), err)),
    ];
    if (!this.#link.isOpen) this.#end(new LinkClosedError(), undefined);
  }

  /** Clock time of the last valid frame from the MCU, if any. */
  get lastHeardAt(): number | undefined {
    return this.#lastHeardAt;
  }

  /** Milliseconds since the MCU was last heard (or since the session began). */
  silentFor(): number {
    return this.#clock.now() - (this.#lastHeardAt ?? this.#createdAt);
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  get stats(): SessionStats {
    return { decoder: this.#decoder.stats, requests: this.#matcher.stats, ...this.#counts };
  }

  /**
   * IDENTIFY; with `imageCheckLength` the answer carries the CRC-32 of that many bytes of
   * flash if the firmware can compute it (older firmware answers ERROR bad-length).
   */
  async identify(options: { imageCheckLength?: number } = {}): Promise<Identity> {
    const request = options.imageCheckLength === undefined ? { kind: 'identify' as const } : { kind: 'identify' as const, imageCheckLength: options.imageCheckLength };
    const msg = await this.#call(encodeMessage(request), 'identity');
    return msg.identity;
  }

  /** Round trip with an echo check; `rttMs` of the successful attempt. */
  async ping(data: Uint8Array = new Uint8Array(0)): Promise<{ rttMs: number }> {
    const request = encodeMessage({ kind: 'ping', data });
    let started = this.#clock.now();
    const msg = await this.#call(request, 'pong', () => (started = this.#clock.now()));
    if (msg.data.length !== data.length || msg.data.some((b, i) => b !== data[i])) {
      throw new MessageDecodeError('PONG payload does not echo the PING payload');
    }
    return { rttMs: this.#clock.now() - started };
  }

  /** Returns the interval the MCU put in effect. 0 stops telemetry. */
  async setTelemetryInterval(ms: number): Promise<number> {
    if (!Number.isInteger(ms) || ms < 0 || ms > 0xffff || (ms !== 0 && ms < MIN_TELEMETRY_INTERVAL_MS)) {
      throw new RangeError(`telemetry interval must be 0 or ${MIN_TELEMETRY_INTERVAL_MS}..65535 ms, got ${ms}`);
    }
    const msg = await this.#call(encodeMessage({ kind: 'set-rate', intervalMs: ms }), 'set-rate-ack');
    return msg.intervalMs;
  }

  /**
   * Ask the MCU to jump to its bootloader. After the ACK the session detaches from
   * the link (the next bytes speak AN3155, not this framing) and closes.
   * Not retried: if the request arrived but the ACK was lost, the MCU already sits
   * in its bootloader and a second frame would reach the bootloader as garbage
   * (on a real STM32 its first byte would even be taken for the autobaud 0x7F).
   * On a timeout, probe with the AN3155 sync instead.
   */
  async enterBootloader(): Promise<{ powerCycleNeeded: boolean }> {
    const ack = await this.#call(encodeMessage({ kind: 'enter-bootloader' }), 'enter-bootloader-ack', undefined, 0);
    this.#end(new RequestsClosedError('session handed the link to the bootloader'), undefined);
    return { powerCycleNeeded: ack.powerCycleNeeded === true };
  }

  onTelemetry(listener: (telemetry: Telemetry) => void): Unsubscribe {
    return this.#telemetry.add(listener);
  }

  /** Fires once when the session ends (link closed, bootloader entered, close()). */
  onClose(listener: (error?: Error) => void): Unsubscribe {
    return this.#closeListeners.add(listener);
  }

  /** Telemetry as an async iterator; ends when the session closes or `signal` aborts. */
  telemetry(signal?: AbortSignal): AsyncIterableIterator<Telemetry> {
    const queue: Telemetry[] = [];
    let wake: (() => void) | undefined;
    let done = this.#closed || signal?.aborted === true;
    const finish = (): void => {
      done = true;
      offData();
      offClose();
      signal?.removeEventListener('abort', finish);
      wake?.();
    };
    const offData = this.onTelemetry((t) => {
      if (queue.length >= this.#bufferLimit) {
        queue.shift();
        this.#counts.telemetryDropped++;
      }
      queue.push(t);
      wake?.();
    });
    const offClose = this.onClose(finish);
    signal?.addEventListener('abort', finish, { once: true });
    if (done) finish();
    const iterator: AsyncIterableIterator<Telemetry> = {
      next: async () => {
        while (queue.length === 0 && !done) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        const value = queue.shift();
        return value === undefined ? { done: true, value: undefined } : { done: false, value };
      },
      return: () => {
        finish();
        queue.length = 0;
        return Promise.resolve({ done: true, value: undefined });
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }

  /** Detach from the link and reject pending requests. Does not close the link. */
  close(): void {
    this.#end(new RequestsClosedError('session closed'), undefined);
  }

  /** Send a request; retry on timeout with a fresh SEQ; decode and check the kind. */
  async #call<K extends ReturnType<typeof decodeMessage>['kind']>(
    request: { type: number; payload: Uint8Array },
    expect: K,
    beforeAttempt?: () => void,
    retries = this.#retries,
  ): Promise<Extract<ReturnType<typeof decodeMessage>, { kind: K }>> {
    for (let attempt = 0; ; attempt++) {
      beforeAttempt?.();
      try {
        const frame = await this.#matcher.request(request.type, request.payload, this.#timeoutMs);
        const msg = decodeMessage(frame.type, frame.payload);
        if (msg.kind !== expect) throw new MessageDecodeError(`expected ${expect}, got ${msg.kind}`);
        return msg as Extract<ReturnType<typeof decodeMessage>, { kind: K }>;
      } catch (err) {
        if (!(err instanceof RequestTimeoutError) || attempt >= retries) throw err;
      }
    }
  }

  #onFrame(frame: Frame): void {
    this.#lastHeardAt = this.#clock.now();
    if (this.#matcher.handleFrame(frame)) return;
    if (frame.type !== MessageType.TELEMETRY) {
      this.#counts.undecodable++;
      return;
    }
    let telemetry: Telemetry;
    try {
      const msg = decodeMessage(frame.type, frame.payload);
      if (msg.kind !== 'telemetry') return;
      telemetry = msg.telemetry;
    } catch {
      this.#counts.undecodable++;
      return;
    }
    this.#counts.telemetry++;
    this.#telemetry.emit(telemetry);
  }

  #end(reason: Error, linkError: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unsubscribe) off();
    this.#decoder.reset();
    this.#decoder.dispose();
    this.#matcher.close(reason);
    this.#closeListeners.emit(linkError);
    this.#telemetry.clear();
    this.#closeListeners.clear();
  }
}
