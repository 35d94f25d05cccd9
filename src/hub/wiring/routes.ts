// The hub's HTTP API: every route and the hooks around them, registered in the order they always
// were (the write guard first). Moved out of main.ts, which only builds the parts these use.
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../common/log.js';
import { AGENT_AND_HUB_VERSION } from '../../common/version.js';
import { guardWritesByMessaging } from '../api/messaging-guard.js';
import { identify } from '../api/roles/access-control.js';
import type { ApiTokens } from '../api/roles/api-tokens.js';
import type { AuditTrail } from '../api/audit/audit-log.js';
import { registerApiTokenRoutes } from '../api/routes/api-tokens.js';
import { registerAuditRoutes } from '../api/routes/audit.js';
import { registerBootstrapRoutes } from '../api/routes/bootstrap.js';
import { changeKinds, registerChangeRoutes, type ChangeFeed } from '../api/routes/changes.js';
import { registerDashboardRoutes } from '../api/routes/dashboard.js';
import { registerDeviceApprovalRoutes } from '../api/routes/device-approval.js';
import { registerDeviceSchedulingRoutes } from '../api/routes/device-scheduling.js';
import { registerDeviceRoutes } from '../api/routes/devices.js';
import { registerFirmwareRoutes } from '../api/routes/firmware.js';
import { registerHubRoutes } from '../api/routes/hubs.js';
import { registerJobRoutes } from '../api/routes/jobs.js';
import { registerMcuFlashRoutes } from '../api/routes/mcu-flash.js';
import { registerMcuRoutes } from '../api/routes/mcus.js';
import { registerMetricsRoutes } from '../api/routes/metrics.js';
import { registerRolloutRoutes, rolloutApplyKinds } from '../api/routes/rollouts.js';
import { registerServiceRoutes } from '../api/routes/services.js';
import { registerStatsRoutes } from '../api/routes/stats.js';
import { registerTokenRoutes } from '../api/routes/tokens.js';
import { registerTopRoutes } from '../api/routes/top.js';
import { registerWorkloadOpsRoutes } from '../api/routes/workload-ops.js';
import { registerWorkloadRoutes } from '../api/routes/workloads.js';
import type { EmbeddedBroker } from '../broker/embedded-broker.js';
import type { HubConfig } from '../config.js';
import type { ConfigObjects } from '../config-objects/config-objects.js';
import { registerConfigRoutes } from '../config-objects/config-routes.js';
import type { FirmwareStore } from '../firmware/firmware-store.js';
import type { TrustedKeys } from '../firmware/trusted-keys.js';
import type { DeviceFeed } from '../fleet/device-feed.js';
import type { JoinTokens } from '../fleet/tokens.js';
import type { UsageStore } from '../fleet/usage-store.js';
import type { ConnectionRateLimiter } from '../limits/keyed-limiter.js';
import type { TelemetryFeed } from '../mcus/telemetry-feed.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { HubLink } from '../mqtt/hub-link.js';
import type { RolloutRequests } from '../rollouts/rollout-controller.js';
import type { DeviceRpc } from '../rpc/device-rpc.js';
import type { HubStore } from '../store/repository.js';
import type { HubTls } from '../tls/tls-material.js';
import type { PassTimings } from '../workloads/pass-timings.js';
import type { buildControllerSet } from './controller-set.js';
import type { LeaderControllers } from './controllers.js';
import type { HubPresence } from './hubs.js';
import { bracketed } from './urls.js';

export interface ApiRouteDeps {
  config: HubConfig;
  store: HubStore;
  now: () => Date;
  log: Logger;
  tls: HubTls | undefined;
  adminTokenHash: string;
  apiTokens: ApiTokens;
  audit: AuditTrail;
  httpJoins: ConnectionRateLimiter | undefined;
  feed: DeviceFeed;
  tokens: JoinTokens;
  rpc: DeviceRpc;
  usage: UsageStore;
  telemetry: TelemetryFeed;
  firmware: FirmwareStore;
  firmwareKeys: TrustedKeys;
  metrics: HubMetrics;
  changes: ChangeFeed;
  timings: PassTimings;
  configObjects: ConfigObjects;
  controllers: LeaderControllers<ReturnType<typeof buildControllerSet>>;
  /** The rollout controller the API writes through (wiring/controller-set.ts). */
  rollouts: RolloutRequests;
  presence: HubPresence;
  broker: EmbeddedBroker | undefined;
  link: HubLink;
  /** The broker URL for an agent that reached the API under this host. */
  brokerUrlFor: (requestHost: string) => string;
  /** The port the API serves on (known once it listens: --listen may say 0). */
  servedApiPort: () => number;
  /** After a device record is deleted: its broker account, session and retained topics go too. */
  deviceDeleted: (id: string) => Promise<void>;
}

export function registerApiRoutes(app: FastifyInstance, deps: ApiRouteDeps): void {
  const { config, store, now, log, tls, adminTokenHash, apiTokens, audit, httpJoins, feed, tokens, rpc, usage, telemetry } = deps;
  const { firmware, firmwareKeys, metrics, changes, timings, configObjects, controllers, rollouts, presence, broker, link } = deps;
  const { brokerUrlFor, servedApiPort, deviceDeleted } = deps;
  guardWritesByMessaging(app, presence.health);
  // Degraded while the shared store (PostgreSQL) or the shared MQTT layer (Redis) does not answer.
  const health = (): { ok: boolean; reason?: string } => {
    const stored = store.health?.() ?? { ok: true };
    return stored.ok ? presence.health() : stored;
  };
  registerHubRoutes(app, { list: () => presence.list() });
  registerDashboardRoutes(app, { identify: (authorization) => identify(authorization, { adminTokenHash, apiTokens }) });
  registerBootstrapRoutes(app, {
    hubVersion: AGENT_AND_HUB_VERSION,
    brokerUrlFor,
    hubs: (requestHost) => presence.endpoints({ apiUrl: config.advertiseApi ?? `${tls ? 'https' : 'http'}://${bracketed(requestHost)}:${servedApiPort()}`, brokerUrl: brokerUrlFor(requestHost) }),
    health,
    ...(httpJoins ? { admitJoin: (source: string) => httpJoins.admit(source) } : {}),
    ...(tls ? { caCertificate: tls.ca } : {}),
  });
  registerApiTokenRoutes(app, apiTokens);
  registerAuditRoutes(app, audit);
  registerDeviceRoutes(app, {
    devices: store.devices,
    events: store.events,
    feed,
    now,
    deviceDeleted,
  });
  registerDeviceApprovalRoutes(app, { devices: store.devices, events: store.events, feed, now });
  registerTokenRoutes(app, tokens);
  registerWorkloadOpsRoutes(app, { store, rpc });
  registerDeviceSchedulingRoutes(app, { devices: store.devices, events: store.events, feed, now, passAfterWrite: () => controllers.passAfterWrite() });
  registerTopRoutes(app, { store, usage, now: Date.now, maxAgeMs: 120_000 });
  registerWorkloadRoutes(app, {
    store,
    now,
    passAfterWrite: () => controllers.passAfterWrite(),
    unplacedReasons: () => controllers.unplacedReasons,
    rolloutKinds: rolloutApplyKinds({ store, controller: rollouts }),
    servicesChanged: () => controllers.servicesRequest(),
    configObjects,
  });
  registerConfigRoutes(app, { objects: configObjects, store, passAfterWrite: () => controllers.passAfterWrite() });
  registerJobRoutes(app, { store, now, reconcile: () => controllers.reconcile() });
  registerRolloutRoutes(app, { store, controller: rollouts });
  registerFirmwareRoutes(app, {
    store: firmware,
    keys: firmwareKeys,
    devices: store.devices,
    adminTokenHash,
    personMayRead: (header) => identify(header, { adminTokenHash, apiTokens }) !== undefined,
    now,
    log: log.child('firmware'),
  });
  registerServiceRoutes(app, { store, plan: () => controllers.servicesPlan(), changed: () => controllers.servicesRequest() });
  registerMcuRoutes(app, { devices: store.devices, telemetry });
  registerMcuFlashRoutes(app, { devices: store.devices, firmware, rpc, log: log.child('flash'), flashEnded: (outcome) => metrics.flashEnded(outcome, 'cli') });
  registerMetricsRoutes(app, metrics);
  registerChangeRoutes(app, changes);
  // A write through the API may change what any page shows (an apply, a command, a label).
  app.addHook('onResponse', async (request, reply) => {
    // Refused writes (4xx, 5xx) changed nothing: no notice, so a burst of bad requests costs no re-reads.
    if (request.method !== 'GET' && reply.statusCode < 400) for (const kind of changeKinds) changes.changed(kind);
  });
  registerStatsRoutes(app, {
    devices: store.devices,
    deviceState: store.deviceState,
    passes: () => timings.summary(),
    ...(broker ? { mqttClients: broker.connectedClients } : {}),
    messages: () => ({ ...link.stats }),
  });
}
