import { Duplex } from 'node:stream';
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

/** Wraps a socket so every inbound byte passes the meter first; a violation closes the connection. */
export function guardConnection(socket: Socket, maxPacketBytes: number, onViolation: (reason: string) => void): Duplex {
  const meter = new PacketSizeMeter(maxPacketBytes);
  // aedes writes each MQTT packet on its own; corking until the end of the tick hands the
  // kernel one writev per burst instead of one write per packet (profiled: a fifth of the
  // hub's CPU in a registration storm went to per-packet socket writes).
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  const guarded = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      if (!corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      // Acknowledge at once unless the socket is backed up, so writes are not serialised on flushes.
      if (socket.write(chunk)) callback();
      else socket.once('drain', () => callback());
    },
    final(callback) {
      socket.end(callback);
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    const violation = meter.inspect(chunk);
    if (violation !== undefined) {
      onViolation(violation);
      socket.destroy();
      guarded.destroy();
      return;
    }
    if (!guarded.push(chunk)) socket.pause();
  });
  socket.on('end', () => guarded.push(null));
  socket.on('error', (err) => guarded.destroy(err));
  socket.on('close', () => guarded.destroy());
  return guarded;
}
