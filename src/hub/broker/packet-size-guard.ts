import type { Socket } from 'node:net';

/**
 * Tracks MQTT packet boundaries in a byte stream (fixed header + Remaining Length, MQTT 3.1.1
 * §2.2.3) and reports the first packet whose declared size exceeds the bound, before its body
 * arrives. aedes and its parser buffer any packet up to 256 MB; this stops that at the door.
 */
export class PacketSizeMeter {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Returns an error text for the first violation in `chunk`, or undefined. */
  inspect(chunk: Uint8Array): string | undefined {
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'body') {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[i++] ?? 0;
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes += 1;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return 'malformed remaining length';
        continue;
      }
      if (this.length > this.maxPacketBytes) return `packet of ${this.length} bytes exceeds the limit of ${this.maxPacketBytes}`;
      this.remaining = this.length;
      this.state = this.remaining === 0 ? 'type' : 'body';
    }
    return undefined;
  }
}

/**
 * Guards a socket in place, for aedes to read and write as it is: every inbound chunk passes the
 * meter before the stream takes it (a violation closes the connection), and what is written in one
 * turn of the event loop leaves in one system call.
 *
 * In place rather than wrapped: a Duplex around the socket put every packet in and out through two
 * streams' buffering. In a profile of a 10,000-device restart storm the wrapper's write path and
 * the socket writes under it were a third of the hub's busy time.
 */
export function guardSocket<S extends Socket>(socket: S, maxPacketBytes: number, onViolation: (reason: string) => void): S {
  const meter = new PacketSizeMeter(maxPacketBytes);
  // Node hands each chunk it reads from the socket's handle to the stream's push() (onStreamRead in
  // lib/internal/stream_base_commons.js, plain and TLS sockets alike): checked there, before it is
  // buffered or parsed.
  const push = socket.push.bind(socket);
  socket.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
    if (chunk instanceof Uint8Array) {
      const violation = meter.inspect(chunk);
      if (violation !== undefined) {
        onViolation(violation);
        socket.destroy();
        return false;
      }
    }
    return push(chunk, encoding);
  };
  // aedes writes each MQTT packet on its own, and mqtt-packet uncorks at the end of the tick;
  // corked until the end of the turn, a device's SUBACK, PUBACKs and retained documents that
  // answer one read leave in one writev (a system call per packet was the largest part of the
  // hub's CPU in registration and restart storms).
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  const write = socket.write;
  socket.write = function corkedWrite(this: S, ...args: Parameters<S['write']>): boolean {
    if (!corked && !socket.destroyed) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return (write as (...a: unknown[]) => boolean).apply(socket, args);
  } as S['write'];
  return socket;
}
