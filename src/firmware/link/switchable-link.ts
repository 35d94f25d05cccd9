import { LinkClosedError, Listeners, type ByteLink, type ControlLines, type Parity, type Unsubscribe } from './byte-link.js';
import type { Clock } from '../clock.js';
import { toError } from '../../common/errors.js';

/** Opens the underlying transport with the given parity (the composition root builds serialport). */
export type OpenWithParity = (parity: Parity) => Promise<ByteLink>;

/**
 * Reopening after a switch is tried again a few times before the link is given up: the handle
 * just closed may still hold the tty's lock for a moment (CI once saw "Cannot lock port" on the
 * reopen after a flash; a failed reopen would fail the flash and leave the MCU unidentified).
 */
export interface ReopenRetry {
  readonly clock: Clock;
  /** Opens in all, the first included. */
  readonly attempts: number;
  readonly delayMs: number;
}

export const DEFAULT_REOPEN_ATTEMPTS = 5;
export const DEFAULT_REOPEN_DELAY_MS = 100;

/**
 * A link whose parity can change while the layers above keep their subscriptions: changing it
 * closes the underlying port and opens it again with the new settings (serialport cannot
 * change parity on an open port). Used around flashing: 8N1 for the application, 8E1 for the
 * AN3155 bootloader.
 */
export class SwitchableLink implements ByteLink {
  readonly #data = new Listeners<[Uint8Array]>();
  readonly #closed = new Listeners<[Error | undefined]>();
  readonly #errors = new Listeners<[Error]>();
  #inner: ByteLink;
  #parity: Parity;
  #detach: Unsubscribe[] = [];
  /** The switch under way, if any (never rejects); switches run one after another (see setParity). */
  #switching: Promise<void> | undefined;
  #closedForGood = false;

  private constructor(
    private readonly open: OpenWithParity,
    inner: ByteLink,
    parity: Parity,
    private readonly retry: ReopenRetry | undefined,
  ) {
    this.#inner = inner;
    this.#parity = parity;
    this.#attach();
  }

  static async open(open: OpenWithParity, parity: Parity = 'none', retry?: ReopenRetry): Promise<SwitchableLink> {
    return new SwitchableLink(open, await open(parity), parity, retry);
  }

  get parity(): Parity {
    return this.#parity;
  }

  get isOpen(): boolean {
    return !this.#closedForGood && (this.#switching !== undefined || this.#inner.isOpen);
  }

  async write(bytes: Uint8Array): Promise<void> {
    await this.#switching;
    if (this.#closedForGood) throw new LinkClosedError();
    await this.#inner.write(bytes);
  }

  onData(listener: (bytes: Uint8Array) => void): Unsubscribe {
    return this.#data.add(listener);
  }

  onClose(listener: (error?: Error) => void): Unsubscribe {
    return this.#closed.add(listener);
  }

  onError(listener: (error: Error) => void): Unsubscribe {
    return this.#errors.add(listener);
  }

  /**
   * Switches are chained: two callers asking at once must not both close the same port and each
   * open another (the second open would meet the first one's lock on the tty).
   */
  setParity(parity: Parity): Promise<void> {
    const switched = (this.#switching ?? Promise.resolve()).then(() => this.#switchTo(parity));
    // What later callers wait for never rejects: the caller of this switch gets its failure.
    const settled: Promise<void> = switched
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        if (this.#switching === settled) this.#switching = undefined;
      });
    this.#switching = settled;
    return switched;
  }

  async #switchTo(parity: Parity): Promise<void> {
    if (parity === this.#parity || this.#closedForGood) return;
    for (const d of this.#detach) d();
    this.#detach = [];
    await this.#inner.close().catch(() => undefined);
    try {
      this.#inner = await this.#reopen(parity);
    } catch (err) {
      this.#finish(toError(err));
      throw err;
    }
    this.#parity = parity;
    this.#attach();
  }

  async #reopen(parity: Parity): Promise<ByteLink> {
    const attempts = Math.max(1, this.retry?.attempts ?? 1);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.open(parity);
      } catch (err) {
        if (attempt >= attempts || this.retry === undefined) throw err;
        const { clock, delayMs } = this.retry;
        await new Promise<void>((resolve) => clock.setTimeout(resolve, delayMs));
      }
    }
  }

  async setBaudRate(baud: number): Promise<void> {
    await this.#switching;
    if (this.#closedForGood) throw new LinkClosedError();
    await this.#inner.setBaudRate?.(baud);
  }

  async setControlLines(lines: ControlLines): Promise<void> {
    await this.#switching;
    if (this.#closedForGood) throw new LinkClosedError();
    if (!this.#inner.setControlLines) throw new Error('this link cannot drive DTR/RTS');
    await this.#inner.setControlLines(lines);
  }

  async close(): Promise<void> {
    await this.#switching;
    for (const d of this.#detach) d();
    this.#detach = [];
    await this.#inner.close().catch(() => undefined);
    this.#finish(undefined);
  }

  #attach(): void {
    const inner = this.#inner;
    this.#detach = [
      inner.onData((bytes) => this.#data.emit(bytes)),
      inner.onError((err) => this.#errors.emit(err)),
      // A close we did not ask for (unplugged) ends this link too.
      inner.onClose((err) => this.#finish(err)),
    ];
  }

  #finish(err: Error | undefined): void {
    if (this.#closedForGood) return;
    this.#closedForGood = true;
    this.#closed.emit(err);
    this.#data.clear();
    this.#errors.clear();
    this.#closed.clear();
  }
}
