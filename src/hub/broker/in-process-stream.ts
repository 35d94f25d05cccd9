// Two connected in-memory duplex streams (what one side writes, the other reads), for the hub's
// own MQTT session with its embedded broker: no listener, no accept queue, no TLS. Node 20 has
// no stream.duplexPair (22.6+), so this is the small version with backpressure kept.
import { Duplex } from 'node:stream';

class Half extends Duplex {
  peer!: Half;
  /** A write of ours waiting for the peer's reader to want more (its buffer was full). */
  private blockedWrite: (() => void) | undefined;

  override _read(): void {
    const release = this.peer.blockedWrite;
    this.peer.blockedWrite = undefined;
    release?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.peer.destroyed) return callback(new Error('the other end of the in-process connection is closed'));
    if (this.peer.push(chunk)) callback();
    else this.blockedWrite = () => callback();
  }

  /**
   * What was written while corked, as one chunk: mqtt-packet writes a packet in pieces (header,
   * length, topic, id, payload) inside a cork, and each piece pushed on its own was a separate
   * 'data' event and parse call on the other side (profiled: the hub's in-process session was a
   * seventh of its busy time in a restart storm).
   */
  override _writev(chunks: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    this._write(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), 'binary', callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.peer.destroyed) this.peer.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const blocked = this.blockedWrite;
    this.blockedWrite = undefined;
    blocked?.();
    // A connection closes for both ends: the broker dropping the hub is seen by the hub's client.
    if (!this.peer.destroyed) this.peer.destroy();
    callback(error);
  }
}

/** `[a, b]`: bytes written to `a` are read from `b` and the other way round; destroying one closes both. */
export function inProcessStreamPair(): [Duplex, Duplex] {
  const a = new Half();
  const b = new Half();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
