// The bench's own end of a pty, opened with serialport like the gateway opens its end.
// Bytes only: no framing, no timeouts, just "write these" and "these arrived".
import { SerialPort } from 'serialport';

export type ByteListener = (bytes: Buffer) => void;

export class BytePort {
  private readonly port: SerialPort;
  private closed = false;

  private constructor(port: SerialPort, onBytes: ByteListener, onGone: () => void) {
    this.port = port;
    port.on('data', (bytes: Buffer) => onBytes(bytes));
    // A pty whose other side vanished reports an error or a close: either way it is gone.
    port.on('error', () => undefined);
    port.on('close', () => {
      if (!this.closed) {
        this.closed = true;
        onGone();
      }
    });
  }

  /** Opens `path`; the baud rate is irrelevant on a pty but serialport wants one. */
  static open(path: string, onBytes: ByteListener, onGone: () => void = () => undefined): Promise<BytePort> {
    return new Promise((resolve, reject) => {
      const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
      port.open((error) => {
        if (error) reject(error);
        else resolve(new BytePort(port, onBytes, onGone));
      });
    });
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  write(bytes: Uint8Array): void {
    if (this.closed || bytes.length === 0) return;
    this.port.write(Buffer.from(bytes));
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => {
      this.port.close(() => resolve());
    });
  }
}
