/**
 * The gateway: every MCU port of this agent (configured with --mcu-port, or found by
 * --mcu-discover), the list of attached MCUs for the facts, and the way to a port by MCU
 * id for flashing. Each port supervises itself (mcu-port.ts); this only aggregates.
 */
import type { Logger } from '../../common/log.js';
import type { Clock } from '../../firmware/index.js';
import type { AttachedMcu } from '../../protocol/index.js';
import { attachedMcu } from './mcu-identity.js';
import { McuPort, type McuPortOptions } from './mcu-port.js';

export interface PortDiscovery {
  /** Candidate serial port paths; must not throw (see port-discovery.ts). */
  list(): Promise<string[]>;
  readonly intervalMs: number;
  /** A discovered port whose device never identifies is left alone after this long. */
  readonly giveUpMs: number;
}

export interface GatewayOptions {
  readonly ports: readonly string[];
  readonly discovery?: PortDiscovery;
  /** Everything a port needs except its path and the change hook, which the gateway adds. */
  readonly port: Omit<McuPortOptions, 'path' | 'onChange' | 'log'>;
  readonly clock: Clock;
  /** The attached-MCU list changed (debounced); refresh the facts. */
  readonly onAttachedChange: (mcus: AttachedMcu[]) => void;
  readonly log: Logger;
}

/** Changes within this window are reported once: a flash flips online → offline → online. */
const CHANGE_DEBOUNCE_MS = 250;

interface ManagedPort {
  readonly port: McuPort;
  readonly discovered: boolean;
  readonly since: number;
}

export class Gateway {
  private readonly ports = new Map<string, ManagedPort>();
  /** Discovered paths that are not MCUs of ours; forgotten when they disappear from the list. */
  private readonly ignored = new Set<string>();
  private lastReported = '';
  private changeTimer: unknown;
  private discoveryTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: GatewayOptions) {}

  start(): void {
    for (const path of this.options.ports) this.add(path, false);
    const discovery = this.options.discovery;
    if (discovery) {
      void this.discover(discovery);
      this.discoveryTimer = setInterval(() => void this.discover(discovery), discovery.intervalMs);
      this.discoveryTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.discoveryTimer) clearInterval(this.discoveryTimer);
    if (this.changeTimer !== undefined) this.options.clock.clearTimeout(this.changeTimer);
    await Promise.all([...this.ports.values()].map((p) => p.port.stop()));
  }

  /** The MCUs for the facts: every port whose MCU identified at least once. */
  attached(): AttachedMcu[] {
    const byId = new Map<string, AttachedMcu>();
    for (const { port } of this.ports.values()) {
      const { identity, online } = port.state;
      if (!identity) continue;
      const mcu = attachedMcu(identity, port.path, online);
      const other = byId.get(mcu.id);
      if (!other || (!other.online && mcu.online)) byId.set(mcu.id, mcu);
    }
    return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The port an MCU was last seen on. */
  portOf(mcuId: string): McuPort | undefined {
    let found: McuPort | undefined;
    for (const { port } of this.ports.values()) {
      if (port.mcuId !== mcuId) continue;
      if (!found || (!found.state.online && port.state.online)) found = port;
    }
    return found;
  }

  /** Ports of attached MCUs of `model` (any model when undefined): what a Job's `peripherals: [{kind: mcu}]` claims. */
  mcuPortPaths(model: string | undefined): string[] {
    const out: string[] = [];
    for (const { port } of this.ports.values()) {
      const identity = port.state.identity;
      if (identity && (model === undefined || identity.model === model)) out.push(port.path);
    }
    return out.sort();
  }

  /**
   * A Job holds the port lock for `paths` (canonical): the MCU ports among them are closed for it until
   * the returned function is called. `canonical` is the lock's own path resolution, so both agree.
   */
  async handOver(paths: readonly string[], canonical: (path: string) => Promise<string>): Promise<() => void> {
    const wanted = new Set(paths);
    const giveBacks: (() => void)[] = [];
    for (const { port } of this.ports.values()) {
      if (wanted.has(await canonical(port.path))) giveBacks.push(await port.handOver());
    }
    return () => {
      for (const giveBack of giveBacks) giveBack();
    };
  }

  private add(path: string, discovered: boolean): void {
    if (this.ports.has(path) || this.stopped) return;
    const port = new McuPort({
      ...this.options.port,
      path,
      onChange: () => this.changed(),
      log: this.options.log.child(path.split('/').pop() ?? path),
    });
    this.ports.set(path, { port, discovered, since: this.options.clock.now() });
    port.start();
  }

  private changed(): void {
    if (this.changeTimer !== undefined || this.stopped) return;
    this.changeTimer = this.options.clock.setTimeout(() => {
      this.changeTimer = undefined;
      const mcus = this.attached();
      const fingerprint = JSON.stringify(mcus);
      if (fingerprint === this.lastReported) return;
      this.lastReported = fingerprint;
      this.options.onAttachedChange(mcus);
    }, CHANGE_DEBOUNCE_MS);
  }

  private async discover(discovery: PortDiscovery): Promise<void> {
    const listed = new Set(await discovery.list());
    if (this.stopped) return;
    for (const path of this.ignored) if (!listed.has(path)) this.ignored.delete(path);
    for (const path of listed) if (!this.ignored.has(path)) this.add(path, true);
    const now = this.options.clock.now();
    for (const [path, managed] of this.ports) {
      if (!managed.discovered || managed.port.state.identity || now - managed.since < discovery.giveUpMs) continue;
      // Something else sits on this port (a modem, a GPS): stop talking to it.
      this.options.log.info(`${path}: no MCU of ours answered; leaving the port alone`);
      this.ports.delete(path);
      this.ignored.add(path);
      await managed.port.stop();
    }
  }
}
