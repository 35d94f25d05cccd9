import type { ServiceEndpoint } from '../../protocol/index.js';

/** One address the proxy can connect to for a service port. */
export interface Target {
  /** `deviceId/instance`: stable across documents, so a dropped endpoint stays dropped when the list is re-sent. */
  key: string;
  host: string;
  port: number;
  locality: ServiceEndpoint['locality'];
}

/** After a failed connection an endpoint is left out for this long, doubling on each failure up to the cap. */
export const DROP_BASE_MS = 2_000;
export const DROP_MAX_MS = 30_000;

const tierOf: Record<Target['locality'], number> = { device: 0, site: 1, other: 2 };

interface Health {
  failures: number;
  retryAt: number;
}

/**
 * Which endpoint a new connection tries first, then next: pure, the clock is an argument.
 * Round-robin over the healthy endpoints of the nearest tier that has any (same device, then
 * same site, then the rest); an endpoint whose connection failed is dropped until its retry
 * time (then it is tried again like any other, and a success forgets its failures). Dropped
 * endpoints are still tried last, the soonest retry first: with every endpoint failing, a
 * connection may still find one that came back.
 */
export class Balancer {
  private targets: Target[] = [];
  private readonly health = new Map<string, Health>();
  private cursor = 0;

  setTargets(targets: readonly Target[]): void {
    this.targets = [...targets];
    const keys = new Set(targets.map((t) => t.key));
    for (const key of [...this.health.keys()]) if (!keys.has(key)) this.health.delete(key);
  }

  get size(): number {
    return this.targets.length;
  }

  /** Whether the endpoint is dropped now. */
  isDropped(key: string, now: number): boolean {
    const h = this.health.get(key);
    return h !== undefined && h.retryAt > now;
  }

  order(now: number): Target[] {
    const healthy = this.targets.filter((t) => !this.isDropped(t.key, now));
    const dropped = this.targets.filter((t) => this.isDropped(t.key, now)).sort((a, b) => (this.health.get(a.key)?.retryAt ?? 0) - (this.health.get(b.key)?.retryAt ?? 0));
    const tiers = [0, 1, 2].map((tier) => healthy.filter((t) => tierOf[t.locality] === tier)).filter((list) => list.length > 0);
    const first = tiers[0] ?? [];
    const turn = first.length > 0 ? this.cursor++ % first.length : 0;
    const rotated = [...first.slice(turn), ...first.slice(0, turn)];
    return [...rotated, ...tiers.slice(1).flat(), ...dropped];
  }

  /** A connection to it failed: drop it (returns true when it was not dropped before, for one event per drop). */
  failed(key: string, now: number): boolean {
    const before = this.health.get(key);
    const failures = (before?.failures ?? 0) + 1;
    const wasDropped = before !== undefined && before.retryAt > now;
    this.health.set(key, { failures, retryAt: now + Math.min(DROP_MAX_MS, DROP_BASE_MS * 2 ** (failures - 1)) });
    return !wasDropped;
  }

  /** A connection to it succeeded: it is healthy again. Returns true when it had been failing. */
  succeeded(key: string): boolean {
    return this.health.delete(key);
  }
}

/** The targets of one service port from a services document's endpoints. */
export function targetsFor(endpoints: readonly ServiceEndpoint[], targetPort: number): Target[] {
  return endpoints.flatMap((e) => {
    const port = e.ports.find((p) => p.targetPort === targetPort)?.port;
    return port === undefined ? [] : [{ key: `${e.deviceId}/${e.instance}`, host: e.host, port, locality: e.locality }];
  });
}
