// Composition root of the device agent: builds the MQTT connection, the facts probe and the
// parts that only see interfaces. Heavy modules (dockerode, serialport) are loaded only by
// devices that use them.
import mqtt from 'mqtt';
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDir } from '../common/durable-file.js';
import { createLogger, type Logger } from '../common/log.js';
import { AGENT_NODE_FLAGS, hasAgentNodeFlags } from '../common/agent-node-flags.js';
import { AGENT_AND_HUB_VERSION } from '../common/version.js';
import { decodePayload, desiredStateSchema, parseJoinToken, payloadLimits, topics, type AttachedMcu, type DesiredInstance, type DesiredState, type Facts, type McuTelemetry } from '../protocol/index.js';
import type { AgentConfig } from './config.js';
import { collectFacts, readFactsOverrides } from './facts/collect-facts.js';
import { dockerSocketPath } from './facts/docker-probe.js';
import { runHostProbe } from './facts/run-probe.js';
import { FactsReporter } from './facts/facts-reporter.js';
import { loadOrCreateDeviceKey } from './identity/device-key.js';
import { loadOrCreateBoxKey } from './identity/box-key.js';
import { ConfigFiles, configRoots } from './config-objects/config-files.js';
import { ConfigValueSource } from './config-objects/config-values.js';
import { withConfigs } from './config-objects/with-configs.js';
import { enroll } from './identity/enroll.js';
import { fetchBootstrap } from './identity/bootstrap.js';
import { followHubList } from './session/hub-list.js';
import { readBootId, resolveHardwareId } from './identity/hardware-id.js';
import { loadIdentity } from './identity/identity-file.js';
import { credentialsRefusedHint, rejoinWithKey } from './identity/rejoin.js';
import { DeviceSession } from './session/device-session.js';
import type { ConnectMqtt } from './session/mqtt-connect.js';
import { resolveHubTrust } from './identity/hub-trust.js';
import { LocalState } from './reconcile/local-state.js';
import { kubernetesBackoff, type EventSink } from './reconcile/model.js';
import { Reconciler } from './reconcile/reconciler.js';
import { RpcServer } from './rpc/rpc-server.js';
import { workloadHandlers } from './rpc/workload-handlers.js';
import { createRuntimes } from './runtimes.js';
import { MetricsReporter } from './metrics/metrics-reporter.js';
import { removeMetricsFolder, withMetricsFile } from './metrics/custom-metrics.js';
import { PortLocks } from './gateway/port-lock.js';
import { JobsAgent } from './jobs/jobs-agent.js';
import { nodeCronTicker } from './jobs/node-cron-ticker.js';
import { advertisedAddress } from './services/advertise-address.js';
import { ServicesAgent } from './services/services-agent.js';
import { McuTelemetryServer } from './services/mcu-telemetry-server.js';
import { hasOwnNetwork } from './runtime/docker/container-spec.js';
import { startGatewayIfConfigured } from './start-gateway.js';
import { errorMessage } from '../common/errors.js';

/** The probe script beside this code: bundled (dist/facts-probe.mjs) or compiled (facts/probe-main.js). */
function hostProbeScript(): string {
  const bundled = fileURLToPath(new URL('./facts-probe.mjs', import.meta.url));
  return existsSync(bundled) ? bundled : fileURLToPath(new URL('./facts/probe-main.js', import.meta.url));
}

export interface RunningAgent {
  deviceId: string;
  session: DeviceSession;
  /**
   * Resolves with the new device id when a re-join made this board a new device (its old one
   * was deleted on the hub): this agent is built around its old id, so its owner restarts it.
   */
  movedToDevice: Promise<string>;
  stop(): Promise<void>;
}

export async function startAgent(config: AgentConfig, log: Logger = createLogger('agent', config.logLevel)): Promise<RunningAgent> {
  await ensureDir(config.stateDir);
  const abort = new AbortController();
  const bootId = await readBootId();
  const overrides = config.factsFile ? await readFactsOverrides(config.factsFile) : {};
  const dockerSocket = dockerSocketPath();
  const probeScript = hostProbeScript();
  let attachedMcus = (): AttachedMcu[] => [];
  const address = advertisedAddress(config.advertiseAddress);
  const addressFact = (): { address?: string } => (address !== undefined ? { address } : {});
  // Secrets are sealed to this key (issue 14); the hub learns it from the facts.
  const boxKey = await loadOrCreateBoxKey(config.stateDir);
  const gatherFacts = async (): Promise<Facts> => ({
    ...(await collectFacts({ dockerSocket, overrides, readHost: () => runHostProbe(probeScript), extra: { mcus: attachedMcus(), ...addressFact() } })),
    boxKey: boxKey.publicKey,
  });
  // The hub's CA, once trusted (hub-trust.ts): every mqtts and https connection is verified against it.
  let hubCa: string | undefined;
  const connect: ConnectMqtt = (url, options) => mqtt.connect(url, hubCa ? { ...options, ca: hubCa } : options);
  const parsedToken = config.joinToken === undefined ? undefined : parseJoinToken(config.joinToken);
  if (config.joinToken !== undefined && parsedToken === undefined) {
    throw new Error('--join-token is malformed: expected <id>.<secret> or <id>.<secret>.<CA fingerprint>, as `edgepilot token create` prints it');
  }
  const joinToken = parsedToken?.token;
  const trustHub = async (): Promise<string | undefined> => {
    hubCa = await resolveHubTrust({
      stateDir: config.stateDir,
      ...(config.hubUrl ? { hubUrl: config.hubUrl } : {}),
      ...(parsedToken?.caFingerprint ? { caFingerprint: parsedToken.caFingerprint } : {}),
      ...(config.hubCaFile ? { caFile: config.hubCaFile } : {}),
      log,
    });
    return hubCa;
  };

  let identity = await loadIdentity(config.stateDir);
  const key = await loadOrCreateDeviceKey(config.stateDir);
  // An agent that joined before keeps the hardware id it joined with (stable across upgrades).
  const hardwareId = config.hardwareId ?? identity?.hardwareId ?? (await resolveHardwareId(config.stateDir, undefined));
  if (!identity) {
    if (!joinToken) throw new Error(`no identity in ${config.stateDir}: start once with --hub <url> --join-token <token>`);
    identity = await enroll({
      trustHub,
      stateDir: config.stateDir,
      ...(config.hubUrl ? { hubUrl: config.hubUrl } : {}),
      ...(config.brokerUrl ? { brokerUrl: config.brokerUrl } : {}),
      joinToken,
      hardwareId,
      key,
      agentVersion: AGENT_AND_HUB_VERSION,
      facts: gatherFacts,
      connect,
      log,
      signal: abort.signal,
    });
  }

  else await trustHub();
  const joined = identity;
  let movedToNewDevice = false;
  let announceMove: (deviceId: string) => void = () => undefined;
  const movedToDevice = new Promise<string>((resolve) => (announceMove = resolve));
  const ownBroker = config.brokerUrl ?? identity.brokerUrl;
  const hubUrls = [config.hubUrl ?? identity.hubUrl].filter((u): u is string => u !== undefined);
  // Several hubs: the stored list now, a fresh one from any known hub in the background (hub-list.ts).
  const hubList = await followHubList({ stateDir: config.stateDir, hubUrls, fetchBootstrap: (u) => fetchBootstrap(u, abort.signal, hubCa), log, ownBroker });
  const session = new DeviceSession({
    brokerUrl: ownBroker,
    otherBrokerUrls: hubList.others,
    deviceId: identity.deviceId,
    password: identity.password,
    keepaliveSeconds: config.keepaliveSeconds,
    agentVersion: AGENT_AND_HUB_VERSION,
    bootId,
    connect,
    log: log.child('mqtt'),
    credentialsRefusedHint: credentialsRefusedHint(config.stateDir, config.joinToken !== undefined),
    ...(config.joinToken
      ? {
          renewCredentials: async () => {
            if (movedToNewDevice) return undefined;
            const password = await rejoinWithKey({
              stateDir: config.stateDir,
              identity: joined,
              joinToken: joinToken ?? '',
              hardwareId,
              key,
              agentVersion: AGENT_AND_HUB_VERSION,
              facts: gatherFacts,
              connect,
              log,
            });
            movedToNewDevice = password === undefined;
            if (movedToNewDevice) {
              const kept = await loadIdentity(config.stateDir);
              if (kept && kept.deviceId !== joined.deviceId) announceMove(kept.deviceId);
            }
            return password;
          },
        }
      : {}),
  });
  hubList.refresh((others) => session.setOtherBrokers(others));
  const initialFacts = await gatherFacts();
  const facts = new FactsReporter(initialFacts, session, gatherFacts, config.factsIntervalSeconds * 1000, log.child('facts'));
  const deviceId = identity.deviceId;
  // ConfigMaps and Secrets as files and env: written before an instance starts, Secrets on a tmpfs.
  const roots = await configRoots(config.stateDir);
  if (!roots.secretsOnTmpfs) log.warn(`no writable tmpfs (/dev/shm, /run): Secret files go under ${roots.secretDir} (0600)`);
  // The reconciler holds the desired document; it is built just below.
  let currentConfigs = (): DesiredState['configs'] => undefined;
  const configValues = new ConfigValueSource(boxKey.privateKey, () => currentConfigs());
  const configFiles = new ConfigFiles(roots, (kind, name) => configValues.get(kind, name), log.child('configs'));
  const runtimes = await createRuntimes({
    stateDir: config.stateDir,
    deviceId,
    dockerAvailable: initialFacts.runtimes.docker.available,
    dockerSocket,
    containerNetwork: config.containerNetwork,
    serviceAddress: config.serviceAddress,
    registryConfigured: config.registry !== undefined,
    log,
    privateEnv: (instanceId) => configFiles.privateEnv(instanceId),
  });
  const emitEvent: EventSink = (event) => session.event({ time: new Date().toISOString(), ...event });
  // One port lock for flashing and for Jobs that claim a serial port or an MCU (issue 9), keyed by the
  // port's real path: a by-id link and the tty behind it are one port.
  const canonicalPort = (path: string): Promise<string> => realpath(path).catch(() => path);
  const portLocks = new PortLocks(canonicalPort);
  // MCUs as a service (issue 14): the gateway's telemetry, as JSON lines on a local port.
  const mcuTelemetry = config.mcuTelemetryPort !== undefined && (config.mcuPorts.length > 0 || config.mcuDiscover) ? new McuTelemetryServer() : undefined;
  const mcuTelemetryPort = mcuTelemetry ? await mcuTelemetry.listen(config.serviceAddress, config.mcuTelemetryPort ?? 0) : undefined;
  const gateway = await startGatewayIfConfigured(config, {
    locks: portLocks,
    deviceId,
    password: identity.password,
    hubUrl: config.hubUrl ?? identity.hubUrl,
    ...(hubCa ? { hubCa } : {}),
    session,
    refreshFacts: () => void facts.refresh(),
    event: (event) => session.event({ time: new Date().toISOString(), ...event }),
    log: log.child('gateway'),
    ...(mcuTelemetry ? { localTelemetry: (message: McuTelemetry) => mcuTelemetry.publish(message) } : {}),
  });
  // Services (issue 14): the proxy runs from the kept endpoints before the hub answers.
  const services = new ServicesAgent({
    stateDir: config.stateDir,
    env: { proxyHost: config.serviceAddress, containerHasOwnNetwork: hasOwnNetwork(config.containerNetwork), ...(mcuTelemetryPort !== undefined ? { mcuTelemetryPort } : {}) },
    connectTimeoutMs: 2000,
    event: emitEvent,
    log: log.child('services'),
  });
  await services.start();
  if (gateway) attachedMcus = () => gateway.gateway.attached();
  const reconciler = new Reconciler({
    decorate: async (instance) => services.decorate(await withMetricsFile(await configFiles.decorate(instance), config.stateDir)),
    release: async (instanceId) => {
      await removeMetricsFolder(config.stateDir, instanceId);
      await configFiles.remove(instanceId);
    },
    configFiles,
    runtimes,
    state: new LocalState(config.stateDir, (m) => log.warn(m)),
    // CLOCK_MONOTONIC (system-wide, kept across agent restarts within a boot) orders reports where a stepped wall clock cannot.
    publishReport: (report) => session.publishState('reported', { ...report, order: { boot: bootId, monotonicMs: Number(process.hrtime.bigint() / 1_000_000n) } }, true),
    event: emitEvent,
    now: Date.now,
    backoff: { ...kubernetesBackoff, baseMs: config.crashBackoffSeconds * 1000 },
    parallelStarts: config.parallelStarts,
    log: log.child('reconcile'),
  });
  // The newest document's configs as soon as it arrives (Jobs read them too, without waiting for the
  // reconciler's durable write); before any arrives, the reconciler's copy restored from disk.
  let newest: DesiredState | undefined;
  currentConfigs = () => (newest && newest.generation >= (reconciler.generation ?? -1) ? newest.configs : reconciler.configs);
  const rpc = new RpcServer(
    {
      ping: async () => ({ pong: true, generation: reconciler.generation ?? null }),
      ...workloadHandlers(reconciler, runtimes),
      ...(gateway ? { flash: gateway.flash } : {}),
    },
    (id, response) => session.publishResponse(id, response),
    Date.now,
    log.child('rpc'),
  );
  session.on('message', (topic, payload) => {
    if (topic === topics.desired(deviceId)) {
      if (payload.length === 0) return;
      const decoded = decodePayload(desiredStateSchema, payload, payloadLimits.desired);
      if (!decoded.ok) return log.warn(`dropped desired state: ${decoded.error}`);
      if (!newest || decoded.value.generation > newest.generation) newest = decoded.value;
      void reconciler.setDesired(decoded.value).catch((err: unknown) => log.error(`storing desired state failed: ${errorMessage(err)}`));
      if (gateway && decoded.value.prefetchFirmware?.length) void gateway.firmware.prefetch(decoded.value.prefetchFirmware);
    } else if (topic === topics.rpcRequest(deviceId)) {
      void rpc.handle(payload);
    } else if (topic === topics.services(deviceId)) {
      void services.received(payload);
    }
  });
  session.on('connected', () => void reconciler.republish());
  const metrics = new MetricsReporter({
    stateDir: config.stateDir,
    runtimes,
    running: () => reconciler.observedInstances(),
    publish: (sample) => session.publishState('metrics', sample, false),
    intervalMs: config.metricsIntervalSeconds * 1000,
    log: log.child('metrics'),
  });
  // Jobs and CronJobs (issue 9): runtimes of their own (the reconciler must not see a Job's instance
  // as a stray), the ledger and run outbox under <stateDir>/jobs, node-cron as the ticker. Started
  // before the session, so the retained desired document cannot arrive before the listener.
  const jobRuntimes = await createRuntimes({
    stateDir: join(config.stateDir, 'jobs'),
    deviceId: `${deviceId}-jobs`,
    dockerAvailable: initialFacts.runtimes.docker.available,
    dockerSocket,
    containerNetwork: config.containerNetwork,
    registryConfigured: config.registry !== undefined,
    log: log.child('jobs'),
    privateEnv: (instanceId) => configFiles.privateEnv(instanceId),
  });
  const jobDecoration = { decorate: async (instance: DesiredInstance) => services.decorate(await configFiles.decorate(instance)), remove: (id: string) => configFiles.remove(id) };
  const jobs = new JobsAgent({
    stateDir: config.stateDir,
    // Attempts get ConfigMaps, Secrets (files written before the start, gone after) and service env like instances.
    runtimes: {
      process: withConfigs(jobRuntimes.process, jobDecoration),
      ...(jobRuntimes.container ? { container: withConfigs(jobRuntimes.container, jobDecoration) } : {}),
    },
    now: Date.now,
    ticker: nodeCronTicker,
    ports: {
      locks: portLocks,
      mcuPorts: (model) => gateway?.gateway.mcuPortPaths(model) ?? [],
      ...(gateway ? { handOver: (paths: readonly string[]) => gateway.gateway.handOver(paths, canonicalPort) } : {}),
      event: emitEvent,
    },
    publishRuns: (records) => session.publishState('runs', { records }, false),
    connected: () => session.connected,
    backoffBaseMs: config.crashBackoffSeconds * 1000,
    log: log.child('jobs'),
  });
  session.on('message', (topic, payload) => {
    if (topic === topics.runsAck(deviceId)) void jobs.acknowledged(payload).catch((err: unknown) => log.error(`run acknowledgement: ${errorMessage(err)}`));
    if (topic !== topics.desired(deviceId) || payload.length === 0) return;
    const decoded = decodePayload(desiredStateSchema, payload, payloadLimits.desired);
    if (decoded.ok) void jobs.setDesired(decoded.value).catch((err: unknown) => log.error(`applying jobs failed: ${errorMessage(err)}`));
  });
  session.on('connected', () => jobs.connected());
  await jobs.start();
  // Workloads start from the local copy before (and whether or not) the hub answers.
  await reconciler.start();
  facts.start();
  metrics.start();
  session.start();
  gateway?.gateway.start();
  if (!hasAgentNodeFlags()) log.info(`started without ${AGENT_NODE_FLAGS.join(' ')}: the agent holds a few MB more memory (see scripts/edgepilot-agent.service)`);
  log.info(`agent ${AGENT_AND_HUB_VERSION} running as ${deviceId} (state in ${config.stateDir}; runtimes: ${Object.keys(runtimes).join(', ')})`);

  return {
    deviceId,
    session,
    movedToDevice,
    async stop() {
      abort.abort(new Error('agent stopping'));
      facts.stop();
      metrics.stop();
      rpc.stop();
      await gateway?.gateway.stop();
      await reconciler.stop();
      await services.stop();
      await mcuTelemetry?.close();
      await jobs.stop();
      await session.stop();
      await Promise.all(Object.values(runtimes).map((r) => r?.close()));
    },
  };
}
