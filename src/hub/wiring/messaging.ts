// The hub's MQTT side, built for main.ts: the embedded aedes broker (default) or an external one
// (Mosquitto, optionally with its dynamic-security plugin), and the hub's own client session
// (in-process with the embedded broker).
import mqtt from 'mqtt';
import { randomAlnum, randomSecret, secretMatches } from '../../common/ids.js';
import type { Logger } from '../../common/log.js';
import { topics } from '../../protocol/index.js';
import { HUB_USERNAME } from '../broker/access-policy.js';
import { startEmbeddedBroker, type BrokerAuthority, type EmbeddedBroker, type RetainedMessage } from '../broker/embedded-broker.js';
import { DynsecProvisioner } from '../broker/dynsec.js';
import type { SharedMessagingLayer } from '../broker/redis-layer.js';
import type { HubConfig } from '../config.js';
import type { JoinTokens } from '../fleet/tokens.js';
import type { ConnectionRateLimiter } from '../limits/keyed-limiter.js';
import type { FailedAuthLimiter } from '../limits/failed-auth-limiter.js';
import type { HubStore } from '../store/repository.js';
import type { HubTls } from '../tls/tls-material.js';

export interface HubMessaging {
  /**
   * Only with the embedded broker: seeded with the stored desired documents (retained), and
   * keeping the CONNECTs of devices waiting until main.ts calls admitDevices().
   */
  broker: EmbeddedBroker | undefined;
  /** What the hub connects to (credentials stripped from an external broker's URL only for dynsec). */
  brokerUrl: string;
  client: mqtt.MqttClient;
  /** Only with --broker-dynsec: the plugin's admin session and the account keeper. */
  dynsec: { admin: mqtt.MqttClient; provisioner: DynsecProvisioner } | undefined;
  /** Only with --redis: the Redis the embedded brokers of several hubs share. */
  shared: SharedMessagingLayer | undefined;
}

/**
 * The embedded broker, opened first thing at start-up (before the store is loaded): a restarted
 * hub's fleet may knock from then on, and its CONNECTs are held until the hub admits devices.
 * What the broker asks about devices and tokens is wired in by startMessaging (`authorize`).
 */
export interface EarlyBroker {
  broker: EmbeddedBroker;
  hubSecret: string;
  authorize(checks: DeviceChecks): void;
}

type DeviceChecks = Pick<BrokerAuthority, 'verifyDevice' | 'joinTokenKnown' | 'admitJoin' | 'failedLogins'>;

/** Undefined with an external broker (--broker): there is nothing of ours to open early. */
export async function openEmbeddedBroker(
  config: HubConfig,
  tls: HubTls | undefined,
  log: Logger,
  /** With --redis: the layer the brokers of several hubs share, and this hub's broker id among them. */
  sharing?: { shared: SharedMessagingLayer; id: string },
  /** Device connections at most (connection-limit.ts): the open-files limit less the hub's own files. */
  maxConnections?: number,
): Promise<EarlyBroker | undefined> {
  if (config.externalBroker) return undefined;
  let checks: DeviceChecks | undefined;
  // Devices and join sessions are asked about only once admitted, and admitDevices() comes after authorize().
  const wired = (): DeviceChecks => {
    if (!checks) throw new Error('the broker asked about a device before the hub wired its checks');
    return checks;
  };
  const hubSecret = randomSecret(32);
  const broker = await startEmbeddedBroker({
    host: config.mqttHost,
    port: config.mqttPort,
    log: log.child('broker'),
    ...(sharing ?? {}),
    ...(maxConnections !== undefined ? { maxConnections } : {}),
    ...(tls ? { tls: { cert: tls.cert, key: tls.key } } : {}),
    authority: {
      hubSecret,
      verifyDevice: (id, password) => wired().verifyDevice(id, password),
      joinTokenKnown: (token) => wired().joinTokenKnown(token),
      admitJoin: (source) => wired().admitJoin?.(source) ?? true,
      // Asked before any device is admitted too (the hub's own session skips it): no limiter yet, no limit.
      failedLogins: { check: (source) => checks?.failedLogins?.check(source) ?? { ok: true }, failed: (source) => checks?.failedLogins?.failed(source) },
    },
  });
  return { broker, hubSecret, authorize: (given) => void (checks = given) };
}

export interface MessagingDeps {
  config: HubConfig;
  /** Only with --redis (opened with the broker, see openEmbeddedBroker). */
  shared: SharedMessagingLayer | undefined;
  store: HubStore;
  tokens: JoinTokens;
  mqttJoins: ConnectionRateLimiter | undefined;
  /** Failed CONNECTs per source address (embedded broker only: Mosquitto's are its own). */
  mqttAuthFailures: FailedAuthLimiter | undefined;
  log: Logger;
  /** From openEmbeddedBroker (required unless --broker). */
  early: EarlyBroker | undefined;
}

export async function startMessaging({ config, store, tokens, mqttJoins, mqttAuthFailures, log, early, shared }: MessagingDeps): Promise<HubMessaging> {
  let broker: EmbeddedBroker | undefined;
  let hubSecret = '';
  let brokerUrl: string;
  let connectOptions: mqtt.IClientOptions = {};
  let dynsec: HubMessaging['dynsec'];
  if (config.externalBroker && config.brokerDynsec) {
    // The URL's user is the plugin's admin; the hub's own traffic goes under its own account and role.
    const admin = await mqtt.connectAsync(config.externalBroker, { clientId: `edgepilot-hub-admin-${randomAlnum(8)}`, clean: true, reconnectPeriod: 1000, connectTimeout: 10_000 });
    admin.on('error', (err) => log.warn(`broker admin connection: ${err.message}`));
    const provisioner = new DynsecProvisioner(admin, log.child('dynsec'));
    dynsec = { admin, provisioner };
    brokerUrl = withoutCredentials(config.externalBroker);
    connectOptions = await provisioner.prepareHub();
    tokens.hooks = { created: (id, token) => provisioner.provisionJoinToken(id, token), revoked: (id) => provisioner.removeJoinToken(id) };
    // Only a token's hash is kept, so an account the broker lost cannot be made again: say which.
    for (const view of await tokens.list()) {
      if (view.state === 'valid' && !(await provisioner.hasJoinToken(view.id))) {
        log.warn(`join token ${view.id} has no account on the broker (made before --broker-dynsec, or its dynamic-security file was reset): agents cannot join with it; make a new token`);
      }
    }
  } else if (config.externalBroker) {
    brokerUrl = config.externalBroker;
  } else {
    if (!early) throw new Error('startMessaging: the embedded broker was not opened (openEmbeddedBroker)');
    ({ broker, hubSecret } = early);
    early.authorize({
      verifyDevice: async (id, password) => {
        // No copy of the record (facts included) per connect: a reconnect storm is 10,000 of them.
        const hash = await store.devices.credentialHash(id);
        return hash !== undefined && secretMatches(password, hash);
      },
      joinTokenKnown: (token) => tokens.known(token),
      ...(mqttJoins ? { admitJoin: (source: string) => mqttJoins.admit(source).ok } : {}),
      ...(mqttAuthFailures ? { failedLogins: mqttAuthFailures } : {}),
    });
    await broker.seedRetained(await storedDesiredDocuments(store));
    brokerUrl = broker.url;
  }

  const sessionOptions: mqtt.IClientOptions = { clientId: `edgepilot-hub-${randomAlnum(8)}`, clean: true, keepalive: 30, reconnectPeriod: 1000, connectTimeout: 10_000 };
  // The hub's own session with its embedded broker is in-process: through the listener, a
  // restarted hub's CONNECT queued behind 10,000 reconnecting devices and timed out again and
  // again (a hub without its link). Devices are admitted (main.ts) once it is subscribed.
  const client = broker
    ? await connectInProcess(broker, { ...sessionOptions, username: HUB_USERNAME, password: hubSecret })
    : await mqtt.connectAsync(brokerUrl, { ...connectOptions, ...sessionOptions });
  client.on('error', (err) => log.warn(`broker connection: ${err.message}`));
  return { broker, brokerUrl, client, dynsec, shared };
}

/**
 * The stored desired documents, as the embedded broker holds them from its start: a device that
 * reconnects finds its document at SUBSCRIBE without the hub publishing 10,000 of them through
 * MQTT while the storm arrives (the same text HubLink.publish sends).
 */
async function storedDesiredDocuments(store: HubStore): Promise<RetainedMessage[]> {
  const documents: RetainedMessage[] = [];
  for (const [deviceId, desired] of await store.deviceState.desiredSnapshot()) documents.push({ topic: topics.desired(deviceId), payload: Buffer.from(JSON.stringify(desired)) });
  return documents;
}

function connectInProcess(broker: EmbeddedBroker, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  const client = new mqtt.MqttClient(() => broker.connectInProcess(), options);
  return new Promise((resolve, reject) => {
    const failed = (err: Error): void => {
      client.end(true);
      reject(err);
    };
    client.once('error', failed);
    client.once('connect', () => {
      client.off('error', failed);
      resolve(client);
    });
  });
}

export function withoutCredentials(url: string): string {
  const parsed = new URL(url);
  parsed.username = '';
  parsed.password = '';
  return parsed.toString().replace(/\/$/, '');
}
