// Composition root of the hub: the only place that builds its concrete I/O (store, broker,
// MQTT client, HTTP server, clock) and wires them into the parts that only see interfaces.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { ensureDir, writeFileDurably } from '../common/durable-file.js';
import { secretMatches } from '../common/ids.js';
import { createLogger, type Logger } from '../common/log.js';
import { topics } from '../protocol/index.js';
import { loadOrCreateAdminToken } from './admin-token.js';
import { createApiServer } from './api/server.js';
import { maxBrokerConnections, parseOpenFilesLimit } from './broker/connection-limit.js';
import { openEmbeddedBroker, startMessaging, withoutCredentials, type EarlyBroker } from './wiring/messaging.js';
import { hubTls } from './wiring/tls.js';
import type { HubConfig } from './config.js';
import { DeviceFeed } from './fleet/device-feed.js';
import { DeviceObserver } from './fleet/device-observer.js';
import { JoinNonces } from './fleet/join-nonces.js';
import { registerDevice } from './fleet/registration.js';
import { JoinTokens } from './fleet/tokens.js';
import { HubLink } from './mqtt/hub-link.js';
import { openStore } from './store/open-store.js';
import type { SharedMessagingLayer } from './broker/redis-layer.js';
import { redisRetainedMarker } from './broker/retained-marker.js';
import { ConfigObjects } from './config-objects/config-objects.js';
import { checkSharedDataKey, loadOrCreateDataKey } from './config-objects/data-key.js';
import { JobsPlanner } from './jobs/jobs-planner.js';
import { DeviceRpc } from './rpc/device-rpc.js';
import { UsageStore } from './fleet/usage-store.js';
import { FIRMWARE_DEVICE_PATHS } from './api/routes/firmware.js';
import { FirmwareStore } from './firmware/firmware-store.js';
import { startFirmwareSync } from './firmware/firmware-sync.js';
import { TrustedKeys } from './firmware/trusted-keys.js';
import { TelemetryFeed } from './mcus/telemetry-feed.js';
import { join } from 'node:path';
import { HUB_CA_PATH } from '../common/tls-trust.js';
import type { HubTls } from './tls/tls-material.js';
import { ChangeFeed } from './api/routes/changes.js';
import { HubMetrics } from './metrics/hub-metrics.js';
import { observeDurableWrites } from '../common/durable-file.js';
import { createSystemClock } from '../firmware/index.js';
import { ApiTokens } from './api/roles/api-tokens.js';
import { importApiTokenFile } from './api/roles/api-token-import.js';
import { AuditLog, sharedAuditTrail } from './api/audit/audit-log.js';
import { registeredRoutes } from './api/roles/access-control.js';
import { defaultHubLimits } from './limits/hub-limits.js';
import { ConnectionRateLimiter } from './limits/keyed-limiter.js';
import { FailedAuthLimiter } from './limits/failed-auth-limiter.js';
import { DeviceMessageThrottle } from './limits/device-message-throttle.js';
import { deviceMessageGate } from './limits/throttle-gate.js';
import { SoleLeadership, type Leadership } from './leadership/leadership.js';
import { LeaderControllers } from './wiring/controllers.js';
import { buildControllerSet, rolloutController, RolloutsForApi, type ControllerSetDeps } from './wiring/controller-set.js';
import { hubIdFor, startHubPresence } from './wiring/hubs.js';
import { PassTimings } from './workloads/pass-timings.js';
import { ServicesController } from './services/services-controller.js';
import { registerApiRoutes } from './wiring/routes.js';
import { bracketed } from './wiring/urls.js';

/** How long the controllers' lease lasts unrenewed: another hub takes over at most this long after the leader dies. */
const LEASE_MS = 10_000;

export interface RunningHub {
  apiUrl: string;
  brokerUrl: string;
  /** Set only on the first start, when the token was just created. */
  createdAdminToken?: string;
  /** The CA certificate (PEM) the API and broker certificates chain to; none with --insecure. */
  ca?: string;
  /** sha256 of the CA's DER (hex): what `edgepilot login --ca-fingerprint` checks. */
  caFingerprint?: string;
  tokens: JoinTokens;
  link: HubLink;
  /** `METHOD /route` of every API route registered (the access policy's test walks them). */
  apiRoutes: readonly string[];
  /** Whether this hub still accepts these device credentials (`up` asks it for its local agent). */
  acceptsDevice(deviceId: string, password: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * Who runs the controllers. One hub with its own store leads alone; several hubs sharing a
 * PostgreSQL store (issue 15, part A) pass a lease here instead.
 */
export async function startHub(config: HubConfig, log: Logger = createLogger('hub', config.logLevel), leadership?: Leadership): Promise<RunningHub> {
  const now = (): Date => new Date();
  await ensureDir(config.dataDir);
  const tls = config.insecure ? undefined : await hubTls(config, now());
  // Restart storm: the broker listens before the store is loaded (1-3 s at 10,000 devices) and
  // holds the fleet's CONNECTs until the hub admits devices, so early knocks are not turned away.
  const hubId = hubIdFor(config);
  // The Redis and PostgreSQL layers are imported only when configured: a hub alone does not pay
  // for loading them before its broker listens (about 0.2 s of CPU, several seconds under load).
  const shared = config.redisUrl ? (await import('./broker/redis-layer.js')).connectSharedMessaging(config.redisUrl, log.child('redis')) : undefined;
  // Devices up to the open-files limit less the hub's own files (connection-limit.ts).
  const openFiles = parseOpenFilesLimit(await readFile('/proc/self/limits', 'utf8').catch(() => ''));
  const early = await openEmbeddedBroker(config, tls, log, shared ? { shared, id: hubId } : undefined, maxBrokerConnections(openFiles));
  try {
    return await startWithBroker({ config, log, now, tls, early, hubId, shared, leadership });
  } catch (err) {
    // A hub that failed to start must not keep a listener open (and the process alive) without an API.
    await early?.broker.close();
    await shared?.close();
    throw err;
  }
}

interface StartContext {
  config: HubConfig;
  log: Logger;
  now: () => Date;
  tls: HubTls | undefined;
  early: EarlyBroker | undefined;
  hubId: string;
  shared: SharedMessagingLayer | undefined;
  /** Given by a test; otherwise one hub leads alone, and hubs sharing PostgreSQL hold a lease there. */
  leadership: Leadership | undefined;
}

async function startWithBroker({ config, log, now, tls, early, hubId, shared, leadership: given }: StartContext): Promise<RunningHub> {
  let leadership: Leadership = given ?? new SoleLeadership();
  // Controller writes to a shared store carry the lease's term (fencing): read when each is made.
  const store = await openStore(config, { fence: () => leadership.term, log: (m) => log.warn(m), info: (m) => log.info(m) });
  const postgres = config.store === undefined ? undefined : await import('./store/postgres/postgres-store.js');
  if (!given && postgres && store instanceof postgres.PostgresHubStore) {
    const { PostgresLeaderLease } = await import('./store/postgres/leader-lease.js');
    const lease = new PostgresLeaderLease({ pool: store.leaderLeasePool(), holder: hubId, leaseMs: LEASE_MS, log: (m) => log.info(m) });
    await lease.start();
    leadership = lease;
  }
  const admin = await loadOrCreateAdminToken(config.dataDir, store.settings);
  const feed = new DeviceFeed();
  // Where hubs share a store, images and trusted keys are kept there too; the data folder holds this hub's copy.
  const firmware = await FirmwareStore.open(join(config.dataDir, 'firmware', 'images'), log.child('firmware'), store.firmware);
  const firmwareKeys = await TrustedKeys.open(join(config.dataDir, 'firmware', 'keys'), config.firmwareKeyFiles ?? [], store.firmware);
  const firmwareSync = store.firmware ? startFirmwareSync([firmwareKeys, firmware], log.child('firmware')) : undefined;
  // ConfigMaps and Secrets (issue 14): Secrets encrypted at rest under the data key.
  const dataKey = await loadOrCreateDataKey(config.dataDir, config.secretKeyFile);
  await checkSharedDataKey(dataKey, store.settings, config.secretKeyFile !== undefined ? `--secret-key-file ${config.secretKeyFile}` : `${join(config.dataDir, 'secrets.key')}`);
  const configObjects = new ConfigObjects(
    store.configObjects,
    dataKey,
    store.events,
    now,
    log.child('configs'),
    store,
  );
  const telemetry = new TelemetryFeed();
  const tokens = new JoinTokens(store.tokens, now, tls?.caFingerprint);
  const nonces = new JoinNonces(Date.now());
  // Issue 13: people's tokens with roles, the audit log of API writes, and rate limits.
  // Where hubs share a store, people's tokens are kept there: made or revoked at one hub, they hold at all.
  // Where hubs share a store, one audit log for all (each entry names its hub): `edgepilot audit` at any hub shows every write.
  const audit = store.audit ? sharedAuditTrail(store.audit, hubId) : await AuditLog.open(join(config.dataDir, 'audit'));
  // A hub moved to a shared store brings the tokens its data folder kept (once: the file is renamed).
  if (store.apiTokens) await importApiTokenFile({ path: join(config.dataDir, 'api-tokens.json'), into: store.apiTokens, audit: (e) => audit.append(e), now, log: (m) => log.info(m) });
  const apiTokens = await ApiTokens.open(store.apiTokens ?? join(config.dataDir, 'api-tokens.json'), now, (m) => log.warn(m));
  const clock = createSystemClock();
  const limits = config.limits ?? defaultHubLimits;
  const mqttJoins = limits.join && new ConnectionRateLimiter(limits.join, clock);
  const httpJoins = limits.join && new ConnectionRateLimiter(limits.join, clock);
  const throttle = new DeviceMessageThrottle(limits.deviceMessages, clock);
  // Separate budgets: a script with a stale token on a gateway must not lock out its agent.
  const apiAuthFailures = limits.failedAuth && new FailedAuthLimiter(limits.failedAuth, clock);
  const mqttAuthFailures = limits.failedAuth && new FailedAuthLimiter(limits.failedAuth, clock);

  const { broker, brokerUrl, client, dynsec } = await startMessaging({ config, store, tokens, mqttJoins: mqttJoins || undefined, mqttAuthFailures: mqttAuthFailures || undefined, log, early, shared });

  const usage = new UsageStore();
  // What the dashboard's pages re-read when it changes (GET /v1/changes).
  const changes = new ChangeFeed();
  const stopFeedingChanges = feed.subscribe((_id, _type, aspect) => {
    changes.changed('devices');
    if (aspect === 'reported') changes.changed('workloads');
  });
  const metrics = new HubMetrics({
    devices: () => store.devices.snapshot(),
    reported: (visit) => store.deviceState.scan((id, _desired, reported) => visit(id, reported)),
    rollouts: () => store.rollouts.list(),
    usage: () => usage.fresh(Date.now(), 120_000),
    ...(broker ? { mqttClients: broker.connectedClients } : {}),
  });
  const stopObservingWrites = observeDurableWrites((seconds) => metrics.storeWriteTimed(seconds));
  const rpc = new DeviceRpc(
    (topic, payload) => link.publish(topic, payload),
    async (id) => (await store.devices.get(id))?.status?.state === 'online',
    log.child('rpc'),
  );
  const observer = new DeviceObserver({ devices: store.devices, events: store.events, deviceState: store.deviceState, feed, now, log: log.child('fleet') });
  // Jobs and CronJobs (issue 9): run records are stored, then acknowledged on ep/v1/d/<id>/runs/ack.
  let requestPass = (): void => undefined; // the controllers exist only after the hub's session is up
  const jobsPlanner = new JobsPlanner({
    store,
    now,
    acknowledge: (id, ids): Promise<void> => link.publish(topics.runsAck(id), { ids }),
    changed: () => {
      changes.changed('jobs');
      requestPass();
    },
    log: log.child('jobs'),
  });
  const link = new HubLink(
    client,
    {
      join: async (nonce, request) => {
        const response = await registerDevice(nonce, request, { tokens, devices: store.devices, events: store.events, feed, nonces, now, log: log.child('join') });
        if (!response.ok || !dynsec) return response;
        // The account must exist before the device reads its credentials and logs in with them.
        await dynsec.provisioner.provisionDevice(response.deviceId, response.password);
        return response;
      },
      status: (id, status) => observer.onStatus(id, status),
      facts: (id, facts) => observer.onFacts(id, facts),
      event: (id, event) => observer.onEvent(id, event),
      reported: (id, reported) => observer.onReported(id, reported),
      rpcResponse: (id, correlationId, payload) => rpc.onResponse(id, correlationId, payload),
      metrics: async (id, sample) => {
        usage.record(id, sample, Date.now());
        await observer.touch(id);
      },
      telemetry: async (id, frame) => {
        telemetry.record(id, frame);
        await observer.touch(id);
      },
      runs: (id, message): Promise<void> => jobsPlanner.ingest(id, message),
      other: (id) => observer.touch(id),
    },
    log.child('mqtt'),
    deviceMessageGate({ throttle, events: store.events, now, log: log.child('limits') }),
    { received: (bytes) => metrics.messageReceived(bytes), published: (bytes) => metrics.messagePublished(bytes), dropped: () => metrics.messageDropped() },
  );
  await link.start();
  // The hub is subscribed (its session is in-process, see wiring/messaging.ts): the fleet may come in.
  broker?.admitDevices();

  const timings = new PassTimings();
  timings.onRecord((timing) => {
    metrics.passTimed(timing.totalMs, timing.placementMs);
    changes.changed('workloads');
  });
  const publish = (topic: string, payload: unknown, retain: boolean): Promise<void> => link.publish(topic, payload, { retain });
  const setDeps: ControllerSetDeps = {
    ...{ store, publish, now, jobs: jobsPlanner, configs: configObjects, rpc, metrics, telemetry, firmware, usage, timings, log },
    // Each rollout transition is one durable write, so a page hears of every one.
    onRolloutTransition: () => changes.changed('rollouts'),
    autoscaleIntervalMs: config.autoscaleIntervalSeconds * 1000,
  };
  // Only the leader runs controllers (wiring/controllers.ts); every hub serves the API and ingest.
  const controllers: LeaderControllers<ReturnType<typeof buildControllerSet>> = new LeaderControllers({
    leadership,
    build: (live) => buildControllerSet(setDeps, live),
    notifyLeader: () => presence.notices?.written(),
    ...(shared ? { safetyPassMs: 30_000 } : {}),
    // Alone, the embedded broker was handed the stored documents at its start. An external one may
    // have lost them (a restarted Mosquitto without persistence), and among several hubs the old
    // leader may have died between storing a document and publishing it (found by three-hubs.test.ts).
    republishOnLead: !broker || shared !== undefined,
    // Redis restarted empty or flushed: the leader notices within a second and publishes again.
    ...(shared ? { retained: { marker: redisRetainedMarker(shared.connection('registry'), hubId, log.child('redis')), checkMs: 1000 } } : {}),
    // Computes endpoints only: its publish is never called by plan() on a hub that does not lead.
    planWithoutLeading: () => new ServicesController({ store, publish: async () => undefined, now, log: log.child('services') }).plan(),
    log: log.child('leader'),
  });
  const presence = await startHubPresence({
    hubId,
    shared,
    leadership,
    feed,
    connections: () => broker?.connectedClients() ?? 0,
    writtenElsewhere: () => controllers.writtenElsewhere(),
    disconnectDevice: async (id) => (await broker?.disconnectDevice(id)) ?? false,
    storeHealth: () => store.health?.() ?? { ok: true },
    log,
  });
  // A rollout create or command on a hub that does not lead is checked here and queued for the leader.
  const rollouts = new RolloutsForApi(controllers, rolloutController(setDeps, { replan: async () => undefined }), () => presence.notices?.written(), { store });
  const stopWatchingForServices = feed.subscribe(() => controllers.servicesRequest());
  const stopWatchingDevices = feed.subscribe((_id, _type, aspect, scheduling) => {
    if (aspect === 'reported' ? controllers.wantsReports : scheduling) controllers.request();
  });
  const stopWatchingForRollouts = feed.subscribe(() => controllers.rolloutsRequest());
  requestPass = () => controllers.request();
  await controllers.start();
  // Each later 'connect' is the session coming back, perhaps to a broker that lost its retained messages.
  client.on('connect', () => controllers.brokerReconnected());

  const app = createApiServer({
    host: config.apiHost,
    port: config.apiPort,
    adminTokenHash: admin.hash,
    apiTokens,
    audit,
    ...(apiAuthFailures ? { failedAuth: apiAuthFailures } : {}),
    now,
    log: log.child('api'),
    // Firmware downloads check device credentials themselves (device-auth.ts).
    publicPaths: ['/v1/bootstrap', HUB_CA_PATH, '/healthz', ...FIRMWARE_DEVICE_PATHS],
    ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
  });
  // An agent that reached the API at some address reaches the embedded broker there too.
  const brokerUrlFor = (requestHost: string): string =>
    config.advertiseBroker ?? (broker ? `${tls ? 'mqtts' : 'mqtt'}://${bracketed(requestHost)}:${broker.port}` : withoutCredentials(brokerUrl));
  // The port the API serves on (known once it listens: --listen may say 0).
  let servedApiPort = config.apiPort;
  const deviceDeleted = async (id: string): Promise<void> => {
    // The embedded broker ends its session; Mosquitto with dynamic security drops its account (and with
    // it the session); any other external broker keeps its own accounts, and the hub can only clear the topics.
    const closed = (await broker?.disconnectDevice(id)) ?? false;
    await dynsec?.provisioner.removeDevice(id);
    log.info(`device ${id} deleted${closed ? '; its broker session was closed' : ''}`);
    await Promise.all(retainedDeviceChannels.map((channel) => link.clearRetained(topics.device(id, channel))));
    await controllers.reconcile();
  };
  registerApiRoutes(app, {
    ...{ config, store, now, log, tls, adminTokenHash: admin.hash, apiTokens, audit, httpJoins: httpJoins || undefined, feed, tokens, rpc, usage, telemetry },
    ...{ firmware, firmwareKeys, metrics, changes, timings, configObjects, controllers, rollouts, presence, broker, link },
    ...{ brokerUrlFor, servedApiPort: () => servedApiPort, deviceDeleted },
  });
  await app.listen({ host: config.apiHost, port: config.apiPort });
  const address = app.server.address();
  const apiPort = typeof address === 'object' && address ? address.port : config.apiPort;
  const apiHost = config.apiHost === '0.0.0.0' || config.apiHost === '::' ? '127.0.0.1' : config.apiHost;
  const apiUrl = `${tls ? 'https' : 'http'}://${bracketed(apiHost)}:${apiPort}`;
  servedApiPort = apiPort;
  log.info(`API listening on ${config.apiHost}:${apiPort}; agents use broker ${config.advertiseBroker ?? withoutCredentials(brokerUrl)}`);
  presence.announce({ apiUrl: config.advertiseApi ?? apiUrl, brokerUrl: brokerUrlFor(apiHost) });

  if (admin.created && config.cliConfigPath && !existsSync(config.cliConfigPath)) {
    await ensureDir(dirname(config.cliConfigPath));
    await writeFileDurably(config.cliConfigPath, stringify({ apiVersion: 'edgepilot.io/v1', kind: 'Config', hub: apiUrl, token: admin.created, ...(tls ? { ca: tls.ca } : {}) }));
    log.info(`wrote CLI config ${config.cliConfigPath}`);
  }

  let closed = false;
  return {
    apiUrl,
    brokerUrl,
    ...(admin.created ? { createdAdminToken: admin.created } : {}),
    ...(tls ? { ca: tls.ca, caFingerprint: tls.caFingerprint } : {}),
    tokens,
    link,
    apiRoutes: registeredRoutes(app),
    async acceptsDevice(deviceId, password) {
      const device = await store.devices.get(deviceId);
      return device?.credentialHash !== undefined && secretMatches(password, device.credentialHash);
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      stopWatchingDevices();
      stopWatchingForRollouts();
      stopObservingWrites();
      stopFeedingChanges();
      link.stop();
      stopWatchingForServices();
      controllers.stop();
      await presence.stop();
      await leadership.stop();
      await client.endAsync();
      await dynsec?.admin.endAsync();
      await broker?.close();
      await shared?.close();
      await audit.close();
      apiTokens.close();
      firmwareSync?.stop();
      await store.close();
    },
  };
}

/** What a device leaves retained on the broker; cleared when it is deleted. */
const retainedDeviceChannels = ['status', 'facts', 'desired', 'services', 'reported'] as const;
