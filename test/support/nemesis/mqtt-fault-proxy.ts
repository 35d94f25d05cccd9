// A TCP proxy between an agent and the broker that understands MQTT's framing just enough to
// duplicate and reorder PUBLISH packets (both directions), and can cut every connection at once.
// The same class forwards the agent's HTTP API traffic unparsed (`mqtt: false`).
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/** Splits a byte stream into whole MQTT control packets (fixed header + remaining length). */
export class MqttFramer {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const packets: Buffer[] = [];
    for (;;) {
      const length = packetLength(this.buffered);
      if (length === undefined || this.buffered.length < length) break;
      packets.push(this.buffered.subarray(0, length));
      this.buffered = this.buffered.subarray(length);
    }
    return packets;
  }
}

/** Whole length of the packet at the start of `b`, or undefined while its header is incomplete. */
export function packetLength(b: Buffer): number | undefined {
  let remaining = 0;
  for (let i = 1; i <= 4; i++) {
    if (b.length <= i) return undefined;
    const byte = b[i] ?? 0;
    remaining += (byte & 0x7f) * 128 ** (i - 1);
    if ((byte & 0x80) === 0) return 1 + i + remaining;
  }
  throw new Error('malformed MQTT remaining length');
}

export const isPublish = (packet: Buffer): boolean => ((packet[0] ?? 0) >> 4) === 3;

/** The same PUBLISH again, as a redelivery: QoS 1 and 2 copies carry the DUP flag. */
export function redelivery(packet: Buffer): Buffer {
  const copy = Buffer.from(packet);
  const qos = ((copy[0] ?? 0) >> 1) & 3;
  if (qos > 0) copy[0] = (copy[0] ?? 0) | 0x08;
  return copy;
}

export interface ChaosSettings {
  duplicate: number;
  reorder: number;
}

export interface ProxyCounters {
  duplicated: number;
  reordered: number;
  cut: number;
}

/** One direction of one connection: packets out in order, except what chaos duplicates or holds back. */
class Pipe {
  private readonly framer = new MqttFramer();
  private held: { packet: Buffer; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly to: Socket,
    private readonly chaos: () => ChaosSettings | undefined,
    private readonly random: () => number,
    private readonly counters: ProxyCounters,
  ) {}

  data(chunk: Buffer): void {
    for (const packet of this.framer.push(chunk)) this.packet(packet);
  }

  private packet(packet: Buffer): void {
    const chaos = this.chaos();
    if (!chaos || !isPublish(packet)) return this.write(packet);
    if (!this.held && this.random() < chaos.reorder) {
      // Held until the next PUBLISH overtakes it (or briefly, so a quiet link does not stall it forever).
      this.held = { packet, timer: setTimeout(() => this.release(), 300) };
      return;
    }
    this.write(packet);
    if (this.held) {
      this.counters.reordered += 1;
      this.release();
    }
    if (this.random() < chaos.duplicate) {
      this.counters.duplicated += 1;
      this.write(redelivery(packet));
    }
  }

  private release(): void {
    if (!this.held) return;
    clearTimeout(this.held.timer);
    const { packet } = this.held;
    this.held = undefined;
    this.write(packet);
  }

  private write(packet: Buffer): void {
    if (!this.to.destroyed) this.to.write(packet);
  }

  close(): void {
    if (this.held) clearTimeout(this.held.timer);
    this.held = undefined;
  }
}

export class FaultProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private chaosSettings: ChaosSettings | undefined;
  readonly counters: ProxyCounters = { duplicated: 0, reordered: 0, cut: 0 };

  constructor(
    private readonly options: { listenHost: string; listenPort: number; targetHost: string; targetPort: number; mqtt: boolean; random: () => number },
  ) {}

  async start(): Promise<void> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listenPort, this.options.listenHost, () => resolve());
    });
  }

  /** The port it listens on (the one asked for, or the one the system chose for 0). */
  get port(): number {
    const address = this.server?.address();
    return typeof address === 'object' && address ? address.port : this.options.listenPort;
  }

  /** Duplicate/reorder PUBLISH packets from now on (undefined: pass everything through). */
  chaos(settings: ChaosSettings | undefined): void {
    this.chaosSettings = settings;
  }

  /** Closes every open connection (both sides see the link drop); new ones are accepted. */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
    this.counters.cut += 1;
  }

  async stop(): Promise<void> {
    this.cutAll();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: Socket): void {
    const upstream = createConnection(this.options.targetPort, this.options.targetHost);
    this.sockets.add(client).add(upstream);
    const chaos = (): ChaosSettings | undefined => this.chaosSettings;
    const up = new Pipe(upstream, chaos, this.options.random, this.counters);
    const down = new Pipe(client, chaos, this.options.random, this.counters);
    const close = (): void => {
      up.close();
      down.close();
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    if (this.options.mqtt) {
      client.on('data', (chunk: Buffer) => {
        try {
          up.data(chunk);
        } catch {
          close();
        }
      });
      upstream.on('data', (chunk: Buffer) => {
        try {
          down.data(chunk);
        } catch {
          close();
        }
      });
    } else {
      client.pipe(upstream);
      upstream.pipe(client);
    }
    for (const s of [client, upstream]) {
      s.on('error', close);
      s.on('close', close);
    }
  }
}
