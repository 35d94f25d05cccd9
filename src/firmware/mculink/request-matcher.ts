/**
 * Request/response matching for the MCU link (PROTOCOL.md: "SEQ is chosen by the
 * requester and echoed in the response"). SEQ runs 1..255 and wraps, skipping
 * values still in flight; a response nobody waits for (late, duplicated, or for a
 * request that already timed out) is counted and ignored.
 */
import type { Clock, TimerHandle } from '../clock.js';
import type { Frame } from './frame-codec.js';
import type { McuErrorCodeName } from './messages.js';
import { errorCodeName, MessageType, RESPONSE_BIT } from './messages.js';

export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  constructor(
    readonly requestType: number,
    readonly seq: number,
    readonly timeoutMs: number,
  ) {
    super(`no response to request 0x${hex(requestType)} (seq ${seq}) within ${timeoutMs} ms`);
  }
}

/** The MCU answered with an ERROR frame. */
export class McuRequestError extends Error {
  override name = 'McuRequestError';
  constructor(
    readonly requestType: number,
    readonly code: number,
    readonly codeName: McuErrorCodeName,
  ) {
    super(`MCU rejected request 0x${hex(requestType)}: error ${code} (${codeName})`);
  }
}

export class RequestsClosedError extends Error {
  override name = 'RequestsClosedError';
}

export interface MatcherStats {
  sent: number;
  answered: number;
  timeouts: number;
  /** Responses that matched no pending request. */
  unmatched: number;
  /** ERROR responses. */
  errors: number;
}

interface Pending {
  readonly type: number;
  readonly resolve: (frame: Frame) => void;
  readonly reject: (error: Error) => void;
  readonly timer: TimerHandle;
}

export interface RequestMatcherOptions {
  /** Encode and write one frame. */
  readonly send: (frame: Frame) => Promise<void>;
  readonly clock: Clock;
}

export class RequestMatcher {
  readonly #send: (frame: Frame) => Promise<void>;
  readonly #clock: Clock;
  readonly #pending = new Map<number, Pending>();
  #lastSeq = 0;
  #closed: Error | undefined;
  readonly #stats: MatcherStats = { sent: 0, answered: 0, timeouts: 0, unmatched: 0, errors: 0 };

  constructor(options: RequestMatcherOptions) {
    this.#send = options.send;
    this.#clock = options.clock;
  }

  get stats(): MatcherStats {
    return { ...this.#stats };
  }

  get pending(): number {
    return this.#pending.size;
  }

  /** Send a request and resolve with its response frame (TYPE | 0x80). ERROR rejects. */
  request(type: number, payload: Uint8Array, timeoutMs: number): Promise<Frame> {
    if (this.#closed !== undefined) return Promise.reject(this.#closed);
    const seq = this.#nextSeq();
    if (seq === undefined) return Promise.reject(new Error('255 requests already in flight'));
    return new Promise<Frame>((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        if (this.#pending.get(seq)?.timer !== timer) return;
        this.#pending.delete(seq);
        this.#stats.timeouts++;
        reject(new RequestTimeoutError(type, seq, timeoutMs));
      }, timeoutMs);
      // Registered before writing: the answer may arrive before write() resolves.
      this.#pending.set(seq, { type, resolve, reject, timer });
      this.#stats.sent++;
      this.#send({ type, seq, payload }).catch((err: unknown) => {
        if (this.#pending.get(seq)?.timer !== timer) return;
        this.#settle(seq);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  /**
   * Offer a received frame. Returns true if it is a response (bit 7 set, or ERROR),
   * whether or not someone was waiting for it; false for unsolicited frames.
   */
  handleFrame(frame: Frame): boolean {
    const isResponse = (frame.type & RESPONSE_BIT) !== 0 || frame.type === MessageType.ERROR;
    if (!isResponse) return false;
    const pending = this.#pending.get(frame.seq);
    const matches = pending !== undefined && (frame.type === (pending.type | RESPONSE_BIT) || frame.type === MessageType.ERROR);
    if (!matches) {
      this.#stats.unmatched++;
      return true;
    }
    this.#settle(frame.seq);
    if (frame.type === MessageType.ERROR) {
      this.#stats.errors++;
      const code = frame.payload[1] ?? 0;
      pending.reject(new McuRequestError(frame.payload[0] ?? pending.type, code, errorCodeName(code)));
    } else {
      this.#stats.answered++;
      pending.resolve(frame);
    }
    return true;
  }

  /** Reject every pending request and all future ones (link closed or session ended). */
  close(error: Error = new RequestsClosedError('link closed')): void {
    this.#closed ??= error;
    for (const [seq, p] of [...this.#pending]) {
      this.#settle(seq);
      p.reject(this.#closed);
    }
  }

  #settle(seq: number): void {
    const p = this.#pending.get(seq);
    if (p === undefined) return;
    this.#clock.clearTimeout(p.timer);
    this.#pending.delete(seq);
  }

  #nextSeq(): number | undefined {
    for (let i = 0; i < 255; i++) {
      this.#lastSeq = (this.#lastSeq % 255) + 1;
      if (!this.#pending.has(this.#lastSeq)) return this.#lastSeq;
    }
    return undefined;
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}
