/**
 * ByteLink over a `serialport` SerialPort that the composition root created and
 * opened. This is the only file of the module that knows serialport, and it uses
 * the package for types only, so importing it never loads a native binding or
 * opens a port.
 */
import type { SerialPort } from 'serialport';
import type { ByteLink, ControlLines, Unsubscribe } from './byte-link.js';
import { LinkClosedError, Listeners } from './byte-link.js';

/**
 * The slice of a serialport stream this adapter uses, written out structurally so
 * that serialport's SerialPortMock fits as well as SerialPort. A port that is still
 * opening is fine: the stream queues writes until it is open.
 */
export interface SerialPortLike {
  readonly isOpen: boolean;
  /** serialport's stream: true while a close is under way (isOpen is already false then). */
  readonly closing?: boolean;
  write(data: Buffer, callback: (error: Error | null | undefined) => void): boolean;
  close(callback?: (error?: Error | null) => void): void;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close', listener: (error?: Error | null) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'error', listener: (error: Error) => void): unknown;
  off(event: 'close', listener: (error?: Error | null) => void): unknown;
  update?(options: { baudRate: number }, callback: (error: Error | null | undefined) => void): void;
  set?(options: { dtr: boolean; rts: boolean }, callback: (error: Error | null | undefined) => void): void;
}

/** Wrap an opened (or opening) serialport SerialPort. */
export function serialPortLink(port: SerialPort): SerialPortLink {
  return new SerialPortLink(port);
}

export class SerialPortLink implements ByteLink {
  readonly #port: SerialPortLike;
  readonly #data = new Listeners<[Uint8Array]>();
  readonly #close = new Listeners<[Error | undefined]>();
  readonly #error = new Listeners<[Error]>();
  #closed = false;

  constructor(port: SerialPortLike) {
    this.#port = port;
    port.on('data', this.#onData);
    port.on('error', this.#onError);
    port.on('close', this.#onClose);
  }

  /** True until the port closes; a port still opening counts as open (writes queue). */
  get isOpen(): boolean {
    return !this.#closed;
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new LinkClosedError());
    return new Promise((resolve, reject) => {
      // The callback fires when the binding has written the bytes to the OS.
      // No drain(): tcdrain would wait for the UART to empty and add a round trip.
      this.#port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (err) => {
        if (err) reject(new LinkClosedError(`serial write failed: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
  }

  onData(listener: (bytes: Uint8Array) => void): Unsubscribe {
    return this.#data.add(listener);
  }

  setBaudRate(baud: number): Promise<void> {
    const port = this.#port;
    if (this.#closed) return Promise.reject(new LinkClosedError());
    if (!port.update) return Promise.resolve();
    return new Promise((resolve, reject) => port.update?.({ baudRate: baud }, (err) => (err ? reject(err) : resolve())));
  }

  /** TIOCMSET through serialport: both lines are written every time (serialport's set() defaults the others). */
  setControlLines(lines: ControlLines): Promise<void> {
    const port = this.#port;
    if (this.#closed) return Promise.reject(new LinkClosedError());
    if (!port.set) return Promise.reject(new Error('this port cannot drive DTR/RTS'));
    return new Promise((resolve, reject) =>
      port.set?.({ dtr: lines.dtr, rts: lines.rts }, (err) => (err ? reject(new Error(`setting DTR/RTS failed: ${err.message}`, { cause: err })) : resolve())),
    );
  }

  onClose(listener: (error?: Error) => void): Unsubscribe {
    return this.#close.add(listener);
  }

  onError(listener: (error: Error) => void): Unsubscribe {
    return this.#error.add(listener);
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (!this.#port.isOpen && this.#port.closing === true) {
      // A close already under way (a second call, or serialport's own after a disconnect) holds the
      // descriptor, and with it the tty's lock, until it completes: wait for it, so that a reopen
      // right after (a parity switch) finds the tty free.
      return new Promise((resolve) => this.#close.add(() => resolve()));
    }
    if (!this.#port.isOpen) {
      this.#finish(undefined);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.#port.close(() => {
        this.#finish(undefined);
        resolve();
      });
    });
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#data.emit(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  };

  readonly #onError = (err: Error): void => {
    this.#error.emit(err);
  };

  readonly #onClose = (err?: Error | null): void => {
    // serialport passes a DisconnectedError when the device went away (USB unplug).
    this.#finish(err ?? undefined);
  };

  #finish(err: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#port.off('data', this.#onData);
    this.#port.off('error', this.#onError);
    this.#port.off('close', this.#onClose);
    this.#close.emit(err);
    this.#data.clear();
    this.#close.clear();
    this.#error.clear();
  }
}
