// The host side of the bench: the pty the gateway opens (hostPath), linked by socat to
// a pty the bench reads. Unplugging kills that socat, so hostPath disappears and the
// gateway's open port reports an error, as when a USB-serial adapter is pulled;
// replugging makes a new pair at the same hostPath.
import path from 'node:path';
import { BytePort } from './byte-port.js';
import { openPtyPair, type PtyPair } from './pty-pair.js';

export class HostLink {
  readonly hostPath: string;
  private readonly benchSidePath: string;
  private readonly onBytes: (bytes: Uint8Array) => void;
  private pair: PtyPair | undefined;
  private port: BytePort | undefined;

  constructor(hostPath: string, workDirectory: string, onBytes: (bytes: Uint8Array) => void) {
    this.hostPath = hostPath;
    this.benchSidePath = path.join(workDirectory, 'host-bench-side');
    this.onBytes = onBytes;
  }

  get plugged(): boolean {
    return this.port !== undefined;
  }

  async plug(): Promise<void> {
    if (this.pair) return;
    const pair = await openPtyPair(this.hostPath, this.benchSidePath);
    try {
      this.port = await BytePort.open(this.benchSidePath, this.onBytes);
    } catch (error) {
      await pair.close();
      throw error;
    }
    this.pair = pair;
  }

  async unplug(): Promise<void> {
    const { pair, port } = this;
    this.pair = undefined;
    this.port = undefined;
    await port?.close();
    await pair?.close();
  }

  /** Bytes for the gateway; lost while unplugged, as on a pulled cable. */
  write(bytes: Uint8Array): void {
    this.port?.write(bytes);
  }

  get socatPid(): number | undefined {
    return this.pair?.pid;
  }
}
