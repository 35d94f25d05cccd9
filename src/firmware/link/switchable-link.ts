import { LinkClosedError, Listeners, type ByteLink, type ControlLines, type Parity, type Unsubscribe } from './byte-link.js';
import { toError } from '../../common/errors.js';

/** Opens the underlying transport with the given parity (the composition root builds serialport). */
export type OpenWithParity = (parity: Parity) => Promise<ByteLink>;

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
  #switching: Promise<void> | undefined;
  #closedForGood = false;

  private constructor(
    private readonly open: OpenWithParity,
    inner: ByteLink,
    parity: Parity,
  ) {
    this.#inner = inner;
    this.#parity = parity;
    this.#attach();
  }

  static async open(open: OpenWithParity, parity: Parity = 'none'): Promise<SwitchableLink> {
    return new SwitchableLink(open, await open(parity), parity);
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

  async setParity(parity: Parity): Promise<void> {
    await this.#switching;
    if (parity === this.#parity || this.#closedForGood) return;
    this.#switching = (async () => {
      for (const d of this.#detach) d();
      this.#detach = [];
      await this.#inner.close().catch(() => undefined);
      try {
        this.#inner = await this.open(parity);
      } catch (err) {
        this.#finish(toError(err));
        throw err;
      }
      this.#parity = parity;
      this.#attach();
    })().finally(() => (this.#switching = undefined));
    await this.#switching;
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
    await this.#switching?.catch(() => undefined);
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
