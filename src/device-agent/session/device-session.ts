import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { MqttClient } from 'mqtt';
import type { Logger } from '../../common/log.js';
import { topics, type DeviceEvent, type DeviceStatus, type RpcResponse } from '../../protocol/index.js';
import { isAuthRefusal, isBusyRefusal, isConnackRefusal, type ConnectMqtt } from './mqtt-connect.js';
import { defaultReconnectBackoff, reconnectDelayMs, retryDelayMs, type ReconnectBackoff } from './reconnect-backoff.js';
import { errorMessage } from '../../common/errors.js';

export interface DeviceSessionOptions {
  brokerUrl: string;
  /**
   * Several hubs (issue 15): the brokers of the other live hubs, from /v1/bootstrap's hub list
   * (kept in the state folder). After a lost connection each reconnect tries the next one, so a
   * device whose hub is gone is back within its backoff at another.
   */
  otherBrokerUrls?: readonly string[];
  deviceId: string;
  password: string;
  keepaliveSeconds: number;
  agentVersion: string;
  bootId: string;
  connect: ConnectMqtt;
  log: Logger;
  /** Said each time the broker refuses our credentials: what the technician should do. */
  credentialsRefusedHint?: string;
  /**
   * Asked after a refusal before trying again: may obtain new credentials (a re-join proving the
   * device key). Resolves to the new password, or undefined to try the old one again.
   */
  renewCredentials?: () => Promise<string | undefined>;
  /** Delays after the broker refused the connection: full jitter below 5 s doubling to 5 min by default. */
  refusedRetry?: { initialMs: number; maxMs: number };
  /** Delays between attempts after the connection was lost or could not be opened (full jitter). */
  reconnectBackoff?: ReconnectBackoff;
  /** In [0, 1): spreads the reconnects of a fleet (tests pass a fixed sequence). */
  random?: () => number;
  /** Schedules a reconnect (tests record the delays); setTimeout by default. */
  setTimer?: (callback: () => void, ms: number) => NodeJS.Timeout;
}

type Channel = 'facts' | 'reported' | 'metrics' | 'runs';

/** Events buffered while offline; older ones are dropped first, a device may be offline for days. */
const MAX_BUFFERED_EVENTS = 100;
/**
 * How long a CONNECT waits for its CONNACK. A restarted hub holds the fleet's CONNECTs while it
 * loads its store and answers them when ready; giving up after 10 s (as before) made every device
 * that knocked early knock again, each a connection the starting hub accepted and tore down for
 * nothing (bench/RESULTS.md, reconnect, seventh session). 30 s is mqtt.js's own default.
 */
export const CONNACK_TIMEOUT_MS = 30_000;

/**
 * The device's MQTT connection: status with a last will, reconnects forever (the agent keeps
 * working without the hub), and tells its owner when it is (re)connected so state is resent.
 */
export class DeviceSession extends EventEmitter<{
  connected: [];
  disconnected: [];
  message: [topic: string, payload: Buffer];
  credentialsRefused: [];
}> {
  private client: MqttClient | undefined;
  private sessionId = '';
  private readonly pendingEvents: DeviceEvent[] = [];
  private authFailures = 0;
  /** Refusals since the last successful connection: the refusal backoff's exponent. */
  private refusalAttempt = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  /** The next reconnect after a lost connection (not after a refusal: that is `retryTimer`). */
  private reconnectTimer: NodeJS.Timeout | undefined;
  /** Failed attempts since the last successful connection: the backoff's exponent. */
  private reconnectAttempt = 0;
  private stopped = false;

  constructor(private options: DeviceSessionOptions) {
    super();
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  get deviceId(): string {
    return this.options.deviceId;
  }

  start(): void {
    const { options } = this;
    this.sessionId = randomBytes(8).toString('hex');
    const client = options.connect(options.brokerUrl, {
      clientId: options.deviceId,
      username: options.deviceId,
      password: options.password,
      clean: true,
      // mqtt-packet otherwise pre-builds 65,536 two-byte Buffers (~6 MB of heap) for message ids.
      writeCache: false,
      keepalive: options.keepaliveSeconds,
      // mqtt.js would retry at a fixed period, the whole fleet in the same millisecond after a hub
      // restart; the session schedules each reconnect itself with jittered backoff (see 'close').
      reconnectPeriod: 0,
      connectTimeout: CONNACK_TIMEOUT_MS,
      // MQTT 3.1.1 §3.1.2.5: the broker publishes this if the connection drops without DISCONNECT.
      will: { topic: topics.status(options.deviceId), payload: Buffer.from(this.statusPayload('offline', 'connection-lost')), qos: 1, retain: true },
      ...serversOption(options.brokerUrl, options.otherBrokerUrls ?? []),
    });
    this.client = client;
    client.on('connect', () => {
      this.authFailures = 0;
      this.reconnectAttempt = 0;
      this.refusalAttempt = 0;
      void this.onConnect();
    });
    client.on('close', () => {
      this.emit('disconnected');
      this.scheduleReconnect(client);
    });
    client.on('reconnect', () => {
      // A new session id for every connection, so a late will of the previous one is recognisable.
      this.sessionId = randomBytes(8).toString('hex');
      if (client.options.will) client.options.will.payload = Buffer.from(this.statusPayload('offline', 'connection-lost'));
    });
    client.on('error', (err) => {
      if (isAuthRefusal(err)) {
        this.authFailures += 1;
        const delay = this.refusalDelayMs();
        options.log.error(
          `the hub no longer accepts this device's credentials (device ${options.deviceId}, ${err.message}); ` +
            `it was deleted or re-registered elsewhere. ${options.credentialsRefusedHint ?? ''} Trying again in ${Math.round(delay / 100) / 10} s.`.replace(/ {2,}/g, ' '),
        );
        this.emit('credentialsRefused');
        this.retryAfterRefusal(client, delay, true);
      } else if (isBusyRefusal(err)) {
        // A restarting hub refuses the whole fleet at once: the slow, unjittered refusal retry
        // (5 s doubling) kept 10,000 devices away for a minute after it was up. Retry as after a
        // lost connection (the close that follows the refusal may have scheduled it already).
        options.log.debug(`broker busy (${err.message}); reconnecting with backoff`);
        this.scheduleReconnect(client);
      } else if (isConnackRefusal(err)) {
        // mqtt.js does not reconnect after any CONNACK refusal (reconnectSuppressed); we do, with backoff.
        // "Server unavailable" (the hub is starting, or too many joins or failed logins from
        // this address) reaches a whole plant at once: the jitter keeps it from coming back at once.
        const delay = this.refusalDelayMs();
        options.log.warn(`broker refused the connection (${err.message}); trying again in ${Math.round(delay / 100) / 10} s`);
        this.retryAfterRefusal(client, delay, false);
      } else options.log.debug(`mqtt: ${err.message}`);
    });
    client.on('message', (topic, payload) => this.emit('message', topic, payload));
  }

  /** After a lost connection or a failed attempt: once, after a jittered delay that grows with each failure. */
  private scheduleReconnect(client: MqttClient): void {
    // A refusal has its own, slower retry (retryAfterRefusal); end() by stop() is not a loss.
    if (this.stopped || this.retryTimer || this.reconnectTimer) return;
    const delay = reconnectDelayMs(this.reconnectAttempt, this.options.reconnectBackoff ?? defaultReconnectBackoff, this.options.random ?? Math.random);
    this.reconnectAttempt += 1;
    this.reconnectTimer = (this.options.setTimer ?? setTimeout)(() => {
      this.reconnectTimer = undefined;
      // With its stores kept, QoS 1 messages in flight when the connection dropped are sent
      // again and their callers answered (as mqtt.js's own reconnect does); reconnect() without
      // them would start empty stores and leave those callers waiting forever.
      if (!this.stopped && !this.retryTimer && !client.connected) {
        forgetServerName(client);
        client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
      }
    }, delay);
  }

  /** The next refusal delay (full jitter, capped); each refusal doubles its ceiling until a connection succeeds. */
  private refusalDelayMs(): number {
    const backoff = { baseMs: this.options.refusedRetry?.initialMs ?? 5000, capMs: this.options.refusedRetry?.maxMs ?? 300_000 };
    const delay = retryDelayMs(this.refusalAttempt, backoff, this.options.random ?? Math.random);
    this.refusalAttempt += 1;
    return delay;
  }

  /** Never silent, never given up: the hub may be fixed (device approved, store restored) at any time. */
  private retryAfterRefusal(client: MqttClient, delayMs: number, credentials: boolean): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = (this.options.setTimer ?? setTimeout)(() => {
      this.retryTimer = undefined;
      void (async () => {
        if (credentials && this.options.renewCredentials) {
          try {
            const renewed = await this.options.renewCredentials();
            if (renewed !== undefined) {
              this.options.password = renewed;
              client.options.password = renewed;
            }
          } catch (err) {
            this.options.log.warn(`getting new credentials failed: ${errorMessage(err)}`);
          }
        }
        if (!this.stopped) {
          forgetServerName(client);
          client.reconnect();
        }
      })();
    }, delayMs);
  }

  private statusPayload(state: DeviceStatus['state'], reason: DeviceStatus['reason']): string {
    const status: DeviceStatus = {
      state,
      reason,
      agentVersion: this.options.agentVersion,
      bootId: this.options.bootId,
      sessionId: this.sessionId,
      since: new Date().toISOString(),
    };
    return JSON.stringify(status);
  }

  private async onConnect(): Promise<void> {
    const client = this.client;
    if (!client) return;
    const { deviceId, log } = this.options;
    try {
      // One flight per connection: the subscriptions, our status, and what the 'connected'
      // listeners send (facts, the reported state) are written in this turn, so they reach the
      // broker in one segment and are answered together. Waiting for each acknowledgement cost
      // the hub a socket write and a read per packet, which bounded a restart storm of 10,000
      // devices. The SUBSCRIBE goes first: a broker takes a read's packets in order, and may
      // deliver before its SUBACK (MQTT 3.1.1 §3.8.4), so nothing the hub sends in answer to
      // our status finds us unsubscribed.
      const subscribed = client.subscribeAsync({ [topics.desired(deviceId)]: { qos: 1 }, [topics.services(deviceId)]: { qos: 1 }, [topics.rpcRequest(deviceId)]: { qos: 1 }, [topics.runsAck(deviceId)]: { qos: 1 } });
      const announced = client.publishAsync(topics.status(deviceId), this.statusPayload('online', 'connected'), { qos: 1, retain: true });
      this.emit('connected');
      this.flushEvents();
      const [granted] = await Promise.all([subscribed, announced]);
      if (granted.some((g) => g.qos === 128)) log.error('broker refused our subscriptions');
      log.info(`connected to ${brokerOf(client, this.options.brokerUrl)} as ${deviceId}`);
    } catch (err) {
      log.warn(`after connect: ${errorMessage(err)}`);
    }
  }

  /**
   * A newer hub list (the agent asked a hub again): used from the next reconnect on. The list
   * mqtt.js rotates through lives in the client's options, read at every reconnect.
   */
  setOtherBrokers(urls: readonly string[]): void {
    this.options.otherBrokerUrls = urls;
    const client = this.client;
    if (!client) return;
    const { servers } = serversOption(this.options.brokerUrl, urls);
    (client.options as { servers?: unknown }).servers = servers;
  }

  /** Retained state (facts, reported) replaces what the broker holds; sent only while connected. */
  async publishState(channel: Channel, payload: unknown, retain: boolean): Promise<boolean> {
    const client = this.client;
    if (!client?.connected) return false;
    await client.publishAsync(topics.device(this.options.deviceId, channel), JSON.stringify(payload), { qos: 1, retain });
    return true;
  }

  async publishRaw(topic: string, payload: string): Promise<void> {
    if (!this.client?.connected) return;
    await this.client.publishAsync(topic, payload, { qos: 0 });
  }

  /** Answers to the hub's requests; dropped while offline (the hub times out and says so). */
  async publishResponse(correlationId: string, response: RpcResponse): Promise<void> {
    if (!this.client?.connected) return;
    await this.client.publishAsync(topics.rpcResponse(this.options.deviceId, correlationId), JSON.stringify(response), { qos: 1 });
  }

  event(event: DeviceEvent): void {
    this.pendingEvents.push(event);
    if (this.pendingEvents.length > MAX_BUFFERED_EVENTS) this.pendingEvents.shift();
    this.flushEvents();
  }

  private flushEvents(): void {
    const client = this.client;
    while (client?.connected && this.pendingEvents.length > 0) {
      const event = this.pendingEvents.shift();
      client.publish(topics.events(this.options.deviceId), JSON.stringify(event), { qos: 1 });
    }
  }

  /** Graceful stop: say "offline (shutdown)" ourselves, then disconnect so the will is not sent. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    const client = this.client;
    if (!client) return;
    if (client.connected) {
      await Promise.race([
        client.publishAsync(topics.status(this.options.deviceId), this.statusPayload('offline', 'shutdown'), { qos: 1, retain: true }),
        new Promise((resolve) => setTimeout(resolve, 1000)),
      ]).catch(() => undefined);
    }
    await client.endAsync(false).catch(() => undefined);
  }
}

/**
 * mqtt.js's `servers`: on every (re)connect it takes the next entry, so the first connection goes
 * to this device's own broker and each retry after a loss to the next hub's. One broker: none.
 */
export function serversOption(own: string, others: readonly string[]): { servers?: { host: string; port: number; protocol: 'mqtt' | 'mqtts' }[] } {
  const urls = [own, ...others.filter((u) => u !== own)];
  if (urls.length < 2) return {};
  const servers = urls.flatMap((url) => {
    try {
      const parsed = new URL(url);
      const protocol: 'mqtt' | 'mqtts' | undefined = parsed.protocol === 'mqtts:' ? 'mqtts' : parsed.protocol === 'mqtt:' ? 'mqtt' : undefined;
      if (!protocol) return [];
      return [{ host: parsed.hostname.replace(/^\[|\]$/g, ''), port: Number(parsed.port || (protocol === 'mqtts' ? 8883 : 1883)), protocol }];
    } catch {
      return [];
    }
  });
  return servers.length < 2 ? {} : { servers };
}

/** Where the client is connected now (it moves between hubs' brokers). */
function brokerOf(client: MqttClient, fallback: string): string {
  const { protocol, hostname, port } = client.options;
  return hostname && port ? `${protocol ?? 'mqtt'}://${hostname}:${port}` : fallback;
}

/**
 * mqtts checks the certificate against the name mqtt.js remembered from the first connection;
 * when the next attempt goes to another hub's broker that hub's name must be checked instead.
 */
function forgetServerName(client: MqttClient): void {
  const options = client.options as { servers?: unknown; servername?: string };
  if (options.servers !== undefined) delete options.servername;
}
