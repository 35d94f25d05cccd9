// This hub among several (issue 15), built for main.ts: its id, its announcement in Redis (the
// hub list of `get hubs` and /v1/bootstrap), the change notices between hubs, and its health.
// Alone (no --redis) it lists only itself, is healthy while it runs, and sends no notices.
import { cpus, hostname, loadavg } from 'node:os';
import type { Logger } from '../../common/log.js';
import { errorMessage } from '../../common/errors.js';
import { HUB_ID_PATTERN, type HubEndpoint, type HubView } from '../../protocol/index.js';
import type { LayerHealth, SharedMessagingLayer } from '../broker/redis-layer.js';
import type { HubConfig } from '../config.js';
import type { DeviceFeed } from '../fleet/device-feed.js';
import { ChangeNotices } from '../hubs/change-notices.js';
import { HubRegistry, RedisHubDirectory } from '../hubs/hub-registry.js';
import type { Leadership } from '../leadership/leadership.js';

/** How often a hub renews its announcement; it drops out of the list after three missed renewals. */
const HEARTBEAT_MS = 2000;

/** `--hub-id`, or the host name and API port made into a hub id. */
export function hubIdFor(config: HubConfig): string {
  if (config.hubId) return config.hubId;
  const made = `${hostname()}-${config.apiPort}`
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return HUB_ID_PATTERN.test(made) ? made : `hub-${config.apiPort}`;
}

export interface HubPresenceDeps {
  hubId: string;
  shared: SharedMessagingLayer | undefined;
  leadership: Leadership;
  feed: DeviceFeed;
  /** MQTT sessions on this hub's broker now. */
  connections: () => number;
  /** Another hub took an API write. */
  writtenElsewhere: () => void;
  /** Ends a device's session on this hub's broker (it was deleted through another hub). */
  disconnectDevice: (deviceId: string) => Promise<boolean>;
  /**
   * Whether the shared store (PostgreSQL) answers: `get hubs` shows a hub degraded for either
   * cause, as /healthz does (it said `ok` for a hub refusing every write with StoreUnavailable).
   */
  storeHealth?: () => LayerHealth;
  log: Logger;
}

export interface HubPresence {
  readonly hubId: string;
  /** The shared MQTT layer's (Redis) health only: what the write guard refuses writes for. */
  health(): LayerHealth;
  /** Once the API listens: what this hub announces (its URLs as agents should use them). */
  announce(endpoint: { apiUrl: string; brokerUrl: string }): void;
  list(): Promise<HubView[]>;
  /** The hub list for /v1/bootstrap; this hub's own entry as the asking agent reached it. */
  endpoints(self: { apiUrl: string; brokerUrl: string }): Promise<HubEndpoint[]>;
  notices: ChangeNotices | undefined;
  stop(): Promise<void>;
}

export async function startHubPresence(deps: HubPresenceDeps): Promise<HubPresence> {
  const { hubId, shared, leadership, log } = deps;
  const startedAt = new Date().toISOString();
  let endpoint = { apiUrl: '', brokerUrl: '' };
  let cpuShare = 0;
  let lastCpu = process.cpuUsage();
  let lastAt = performance.now();
  const health = (): LayerHealth => shared?.health() ?? { ok: true };
  const self = (): HubView => {
    const elapsedMs = performance.now() - lastAt;
    if (elapsedMs >= HEARTBEAT_MS / 2) {
      const used = process.cpuUsage(lastCpu);
      cpuShare = (used.user + used.system) / 1000 / elapsedMs;
      lastCpu = process.cpuUsage();
      lastAt = performance.now();
    }
    const stored = deps.storeHealth?.() ?? { ok: true };
    const now = stored.ok ? health() : stored;
    return {
      id: hubId,
      ...endpoint,
      leading: leadership.leading,
      state: now.ok ? 'ok' : 'degraded',
      ...(now.reason !== undefined ? { reason: now.reason } : {}),
      connections: deps.connections(),
      load1: Math.round(loadavg()[0]! * 100) / 100,
      cpus: Math.max(1, cpus().length),
      cpu: Math.round(cpuShare * 1000) / 1000,
      startedAt,
      heartbeatAt: new Date().toISOString(),
    };
  };
  const registry = new HubRegistry({
    ...(shared ? { directory: new RedisHubDirectory(shared.connection('registry')) } : {}),
    self,
    intervalMs: HEARTBEAT_MS,
    log: log.child('hubs'),
  });
  let notices: ChangeNotices | undefined;
  if (shared) {
    notices = new ChangeNotices({
      hubId,
      links: { publisher: shared.connection('notices-pub'), subscriber: shared.connection('notices-sub') },
      feed: deps.feed,
      written: deps.writtenElsewhere,
      deletedElsewhere: (id) => {
        deps.disconnectDevice(id).then(
          (closed) => closed && log.info(`device ${id} was deleted through another hub; its session here was closed`),
          (err: unknown) => log.warn(`closing the session of device ${id}, deleted through another hub: ${errorMessage(err)}`),
        );
      },
      log: log.child('notices'),
    });
    await notices.start();
  }
  // A change of leadership shows in the list at once, not at the next heartbeat.
  const stopFollowing = leadership.onChange(() => void registry.heartbeat());
  return {
    hubId,
    health,
    announce(given) {
      endpoint = given;
      registry.start();
    },
    list: () => registry.list(),
    async endpoints(reached) {
      if (!shared) return [];
      const hubs = await registry.list();
      return hubs.filter((h) => h.state === 'ok' || h.id === hubId).map((h) => (h.id === hubId ? { id: h.id, ...reached } : { id: h.id, apiUrl: h.apiUrl, brokerUrl: h.brokerUrl }));
    },
    notices,
    async stop() {
      stopFollowing();
      notices?.stop();
      await registry.stop();
    },
  };
}
