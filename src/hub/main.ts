// Composition root of the hub: the only place that builds its concrete I/O (store, broker,
// MQTT client, HTTP server, clock) and wires them into the parts that only see interfaces.
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { ensureDir, writeFileDurably } from '../common/durable-file.js';
import { secretMatches } from '../common/ids.js';
import { createLogger, type Logger } from '../common/log.js';
import { AGENT_AND_HUB_VERSION } from '../common/version.js';
import { flashResultSchema, topics } from '../protocol/index.js';
import { loadOrCreateAdminToken } from './admin-token.js';
import { registerBootstrapRoutes } from './api/routes/bootstrap.js';
import { registerDeviceRoutes } from './api/routes/devices.js';
import { registerDeviceApprovalRoutes } from './api/routes/device-approval.js';
import { registerTokenRoutes } from './api/routes/tokens.js';
import { registerStatsRoutes } from './api/routes/stats.js';
import { createApiServer } from './api/server.js';
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
import { DesiredStateController } from './workloads/desired-controller.js';
import { registerWorkloadRoutes } from './api/routes/workloads.js';
import { registerJobRoutes } from './api/routes/jobs.js';
import { ConfigObjects } from './config-objects/config-objects.js';
import { registerConfigRoutes } from './config-objects/config-routes.js';
import { loadOrCreateDataKey } from './config-objects/data-key.js';
import { JobsPlanner } from './jobs/jobs-planner.js';
import { registerWorkloadOpsRoutes } from './api/routes/workload-ops.js';
import { DeviceRpc } from './rpc/device-rpc.js';
import { UsageStore } from './fleet/usage-store.js';
import { Autoscaler } from './workloads/autoscaler.js';
import { registerTopRoutes } from './api/routes/top.js';
import { registerDeviceSchedulingRoutes } from './api/routes/device-scheduling.js';
import { FIRMWARE_DEVICE_PATHS, registerFirmwareRoutes } from './api/routes/firmware.js';
import { registerMcuRoutes } from './api/routes/mcus.js';
import { registerMcuFlashRoutes } from './api/routes/mcu-flash.js';
import { FirmwareStore } from './firmware/firmware-store.js';
import { TrustedKeys } from './firmware/trusted-keys.js';
import { TelemetryFeed } from './mcus/telemetry-feed.js';
import { join } from 'node:path';
import { RolloutController } from './rollouts/rollout-controller.js';
import { HUB_CA_PATH } from '../common/tls-trust.js';
import type { HubTls } from './tls/tls-material.js';
import { registerRolloutRoutes, rolloutApplyKinds } from './api/routes/rollouts.js';
import { registerMetricsRoutes } from './api/routes/metrics.js';
import { registerDashboardRoutes } from './api/routes/dashboard.js';
import { ChangeFeed, changeKinds, registerChangeRoutes } from './api/routes/changes.js';
import { HubMetrics } from './metrics/hub-metrics.js';
import { observeDurableWrites } from '../common/durable-file.js';
import { createSystemClock } from '../firmware/index.js';
import { ApiTokens } from './api/roles/api-tokens.js';
import { AuditLog } from './api/audit/audit-log.js';
import { registerApiTokenRoutes } from './api/routes/api-tokens.js';
import { registerAuditRoutes } from './api/routes/audit.js';
import { identify, registeredRoutes } from './api/roles/access-control.js';
import { defaultHubLimits } from './limits/hub-limits.js';
import { ConnectionRateLimiter } from './limits/keyed-limiter.js';
import { FailedAuthLimiter } from './limits/failed-auth-limiter.js';
import { DeviceMessageThrottle } from './limits/device-message-throttle.js';
import { deviceMessageGate } from './limits/throttle-gate.js';
import { ServicesController } from './services/services-controller.js';
import { registerServiceRoutes } from './api/routes/services.js';

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

export async function startHub(config: HubConfig, log: Logger = createLogger('hub', config.logLevel)): Promise<RunningHub> {
  const now = (): Date => new Date();
  await ensureDir(config.dataDir);
  const tls = config.insecure ? undefined : await hubTls(config, now());
  // Restart storm: the broker listens before the store is loaded (1-3 s at 10,000 devices) and
  // holds the fleet's CONNECTs until the hub admits devices, so early knocks are not turned away.
  const early = await openEmbeddedBroker(config, tls, log);
  try {
    return await startWithBroker(config, log, now, tls, early);
  } catch (err) {
    // A hub that failed to start must not keep a listener open (and the process alive) without an API.
    await early?.broker.close();
    throw err;
  }
}

async function startWithBroker(config: HubConfig, log: Logger, now: () => Date, tls: HubTls | undefined, early: EarlyBroker | undefined): Promise<RunningHub> {
  const store = await openStore(config, { log: (m) => log.warn(m), info: (m) => log.info(m) });
  const admin = await loadOrCreateAdminToken(config.dataDir, store.settings);
  const feed = new DeviceFeed();
  const firmware = await FirmwareStore.open(join(config.dataDir, 'firmware', 'images'), log.child('firmware'));
  const firmwareKeys = await TrustedKeys.open(join(config.dataDir, 'firmware', 'keys'), config.firmwareKeyFiles ?? []);
  // ConfigMaps and Secrets (issue 14): Secrets encrypted at rest under the data key.
  const configObjects = new ConfigObjects(
    store.configObjects,
    await loadOrCreateDataKey(config.dataDir, config.secretKeyFile),
    store.events,
    now,
    log.child('configs'),
    store,
  );
  const telemetry = new TelemetryFeed();
  const tokens = new JoinTokens(store.tokens, now, tls?.caFingerprint);
  const nonces = new JoinNonces(Date.now());
  // Issue 13: people's tokens with roles, the audit log of API writes, and rate limits.
  const apiTokens = await ApiTokens.open(join(config.dataDir, 'api-tokens.json'), now);
  const audit = await AuditLog.open(join(config.dataDir, 'audit'));
  const clock = createSystemClock();
  const limits = config.limits ?? defaultHubLimits;
  const mqttJoins = limits.join && new ConnectionRateLimiter(limits.join, clock);
  const httpJoins = limits.join && new ConnectionRateLimiter(limits.join, clock);
  const throttle = new DeviceMessageThrottle(limits.deviceMessages, clock);
  // Separate budgets: a script with a stale token on a gateway must not lock out its agent.
  const apiAuthFailures = limits.failedAuth && new FailedAuthLimiter(limits.failedAuth, clock);
  const mqttAuthFailures = limits.failedAuth && new FailedAuthLimiter(limits.failedAuth, clock);

  const { broker, brokerUrl, client, dynsec } = await startMessaging({ config, store, tokens, mqttJoins: mqttJoins || undefined, mqttAuthFailures: mqttAuthFailures || undefined, log, early });

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
  let requestDesiredPass = (): void => undefined;
  const jobsPlanner = new JobsPlanner({
    store,
    now,
    acknowledge: (id, ids): Promise<void> => link.publish(topics.runsAck(id), { ids }),
    changed: () => {
      changes.changed('jobs');
      requestDesiredPass();
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

  // Services (issue 14): endpoints follow readiness reports, devices and desired documents.
  const services = new ServicesController({ store, publish: (topic, payload, retain) => link.publish(topic, payload, { retain }), now, log: log.child('services') });
  const stopWatchingForServices = feed.subscribe(() => services.request());
  const desiredState = new DesiredStateController({
    store,
    publish: (topic, payload, retain) => link.publish(topic, payload, { retain }),
    now,
    log: log.child('desired'),
    jobs: jobsPlanner,
    beforePublish: () => services.reconcile(),
    configs: configObjects,
  });
  requestDesiredPass = () => desiredState.request();
  desiredState.timings.onRecord((timing) => {
    metrics.passTimed(timing.totalMs, timing.placementMs);
    changes.changed('workloads');
  });
  // The embedded broker was handed the stored documents at its start; an external one may have
  // lost them (a restarted Mosquitto without persistence).
  if (!broker) {
    await desiredState.republishAll();
    // Each later 'connect' is the session coming back, perhaps to a broker that lost them again.
    client.on('connect', () => void desiredState.republishAll().catch((err: unknown) => log.warn(`republishing desired documents: ${(err as Error).message}`)));
  }
  const stopWatchingDevices = feed.subscribe((_id, _type, aspect, scheduling) => {
    if (aspect === 'reported' ? desiredState.wantsReports : scheduling) desiredState.request();
  });
  await desiredState.reconcile();
  await services.reconcile();
  const rollouts = new RolloutController({
    store,
    // Each transition is one durable write, so a page hears of every one.
    onTransition: () => changes.changed('rollouts'),
    now,
    log: log.child('rollout'),
    // Pins change what runs on the pinned devices, never where: only their documents are redone.
    replan: (deviceIds) => desiredState.reconcileDevices(deviceIds),
    // A release's firmware goes through the same gateway flash RPC as `edgepilot flash`.
    flash: async (gateway, mcu, sha256, options) => {
      const final = await rpc.call(gateway, 'flash', { mcu, sha256, force: options?.force ?? false }, { timeoutMs: 15_000 }).catch((err: unknown) => {
        metrics.flashEnded('failed', 'rollout');
        throw err;
      });
      const ok = flashResultSchema.safeParse(final).success;
      metrics.flashEnded(ok ? 'succeeded' : 'failed', 'rollout');
      if (!ok) throw new Error(`${gateway} ended the flash without a result`);
    },
    telemetry: (gateway, mcu) => telemetry.recent(gateway, mcu, 64),
    firmwareImages: {
      find: (model, version) => firmware.findVersion(model, version)?.manifest.sha256 ?? null,
      has: (sha256) => firmware.get(sha256) !== undefined,
    },
  });
  const stopWatchingForRollouts = feed.subscribe(() => rollouts.request());
  await rollouts.start();
  const autoscaler = new Autoscaler({ store, usage, now: Date.now, intervalMs: config.autoscaleIntervalSeconds * 1000, replicasChanged: () => desiredState.request(), log: log.child('autoscaler') });
  autoscaler.start();

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
  registerDashboardRoutes(app, { identify: (authorization) => identify(authorization, { adminTokenHash: admin.hash, apiTokens }) });
  registerBootstrapRoutes(app, {
    hubVersion: AGENT_AND_HUB_VERSION,
    // An agent that reached the API at some address reaches the embedded broker there too.
    brokerUrlFor: (requestHost) =>
      config.advertiseBroker ?? (broker ? `${tls ? 'mqtts' : 'mqtt'}://${bracketed(requestHost)}:${broker.port}` : withoutCredentials(brokerUrl)),
    ...(httpJoins ? { admitJoin: (source: string) => httpJoins.admit(source) } : {}),
    ...(tls ? { caCertificate: tls.ca } : {}),
    health: () => store.health?.() ?? { ok: true },
  });
  registerApiTokenRoutes(app, apiTokens);
  registerAuditRoutes(app, audit);
  registerDeviceRoutes(app, {
    devices: store.devices,
    events: store.events,
    feed,
    now,
    deviceDeleted: async (id) => {
      // The embedded broker ends its session; Mosquitto with dynamic security drops its account (and with
      // it the session); any other external broker keeps its own accounts, and the hub can only clear the topics.
      const closed = (await broker?.disconnectDevice(id)) ?? false;
      await dynsec?.provisioner.removeDevice(id);
      log.info(`device ${id} deleted${closed ? '; its broker session was closed' : ''}`);
      await Promise.all(retainedDeviceChannels.map((channel) => link.clearRetained(topics.device(id, channel))));
      await desiredState.reconcile();
    },
  });
  registerDeviceApprovalRoutes(app, { devices: store.devices, events: store.events, feed, now });
  registerTokenRoutes(app, tokens);
  registerWorkloadOpsRoutes(app, { store, rpc });
  registerDeviceSchedulingRoutes(app, { devices: store.devices, events: store.events, feed, now, passAfterWrite: () => desiredState.passAfterWrite() });
  registerTopRoutes(app, { store, usage, now: Date.now, maxAgeMs: 120_000 });
  registerWorkloadRoutes(app, {
    store,
    now,
    passAfterWrite: () => desiredState.passAfterWrite(),
    unplacedReasons: desiredState.unplacedReasons,
    rolloutKinds: rolloutApplyKinds({ store, controller: rollouts }),
    servicesChanged: () => services.request(),
    configObjects,
  });
  registerConfigRoutes(app, { objects: configObjects, store, passAfterWrite: () => desiredState.passAfterWrite() });
  registerJobRoutes(app, { store, now, reconcile: () => desiredState.reconcile() });
  registerRolloutRoutes(app, { store, controller: rollouts });
  registerFirmwareRoutes(app, {
    store: firmware,
    keys: firmwareKeys,
    devices: store.devices,
    adminTokenHash: admin.hash,
    personMayRead: (header) => identify(header, { adminTokenHash: admin.hash, apiTokens }) !== undefined,
    now,
    log: log.child('firmware'),
  });
  registerServiceRoutes(app, { store, plan: () => services.plan(), changed: () => services.request() });
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
    passes: () => desiredState.timings.summary(),
    ...(broker ? { mqttClients: broker.connectedClients } : {}),
    messages: () => ({ ...link.stats }),
  });
  await app.listen({ host: config.apiHost, port: config.apiPort });
  const address = app.server.address();
  const apiPort = typeof address === 'object' && address ? address.port : config.apiPort;
  const apiHost = config.apiHost === '0.0.0.0' || config.apiHost === '::' ? '127.0.0.1' : config.apiHost;
  const apiUrl = `${tls ? 'https' : 'http'}://${bracketed(apiHost)}:${apiPort}`;
  log.info(`API listening on ${config.apiHost}:${apiPort}; agents use broker ${config.advertiseBroker ?? withoutCredentials(brokerUrl)}`);

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
      services.stop();
      rollouts.stop();
      autoscaler.stop();
      desiredState.stop();
      await client.endAsync();
      await dynsec?.admin.endAsync();
      await broker?.close();
      await audit.close();
      await store.close();
    },
  };
}

/** What a device leaves retained on the broker; cleared when it is deleted. */
const retainedDeviceChannels = ['status', 'facts', 'desired', 'services', 'reported'] as const;

/** An IPv6 address inside a URL needs brackets. */
function bracketed(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
