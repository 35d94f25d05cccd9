import type { MqttClient } from 'mqtt';
import type { Logger } from '../../common/log.js';
import {
  decodePayload,
  eventSchema,
  factsSchema,
  hubSubscriptions,
  jobRunsMessageSchema,
  type JobRunsMessage,
  joinRequestSchema,
  parseTopic,
  payloadLimits,
  metricsSchema,
  mcuTelemetrySchema,
  reportedStateSchema,
  statusSchema,
  topics,
  type DeviceEvent,
  type DeviceStatus,
  type Facts,
  type JoinRequest,
  type JoinResponse,
  type McuTelemetry,
  type MetricsSample,
  type ReportedState,
} from '../../protocol/index.js';
import { errorStack } from '../../common/errors.js';

/** What the hub does with each kind of validated inbound message. */
export interface InboundHandlers {
  join(nonce: string, request: JoinRequest): Promise<JoinResponse>;
  status(deviceId: string, status: DeviceStatus): Promise<void>;
  facts(deviceId: string, facts: Facts): Promise<void>;
  event(deviceId: string, event: DeviceEvent): Promise<void>;
  reported(deviceId: string, reported: ReportedState): Promise<void>;
  rpcResponse(deviceId: string, correlationId: string, payload: Buffer): void;
  metrics(deviceId: string, sample: MetricsSample): Promise<void>;
  /** A TELEMETRY frame a gateway forwarded from one of its MCUs. */
  telemetry(gatewayId: string, telemetry: McuTelemetry): Promise<void>;
  /** Job and CronJob run records (optional: a hub without the jobs controller treats them as `other`). */
  runs?(deviceId: string, message: JobRunsMessage): Promise<void>;
  /** Channels a later controller owns; until then they only prove the device is alive. */
  other(deviceId: string, channel: string, payload: Buffer): Promise<void>;
}

/** Told of every message the link moves, with its payload size (the hub's metrics). */
export interface LinkTrafficObserver {
  received(bytes: number): void;
  published(bytes: number): void;
  dropped(): void;
}

export interface HubLinkStats {
  received: number;
  dropped: number;
  /** Dropped by the inbound gate (a device over its message rate), before decoding. */
  throttled: number;
}

/** Decides, before any decoding, whether a device's message on a channel is taken (rate limits). */
export interface InboundGate {
  admit(deviceId: string, channel: string): { admit: true } | { admit: false; retryAfterMs: number };
}

/**
 * The hub's side of MQTT: subscribes once, validates every payload with the protocol schema
 * (the one place inbound data is checked), and hands typed messages to the handlers. A bad
 * message is logged and dropped; nothing a device sends can throw out of here.
 */
export class HubLink {
  readonly stats: HubLinkStats = { received: 0, dropped: 0, throttled: 0 };
  /**
   * A throttled device's newest reported state, handed on once its rate allows: a reported state
   * is whole and supersedes the ones before, so dropping the excess must not lose the last one
   * (the agent sends it only once and would not repeat it until something changes).
   */
  private readonly deferredReports = new Map<string, { topic: string; payload: Buffer; timer?: NodeJS.Timeout }>();

  constructor(
    private readonly client: MqttClient,
    private readonly handlers: InboundHandlers,
    private readonly log: Logger,
    private readonly gate?: InboundGate,
    private readonly traffic?: LinkTrafficObserver,
  ) {}

  async start(): Promise<void> {
    this.client.on('message', (topic, payload) => {
      this.stats.received += 1;
      this.traffic?.received(payload.length);
      this.dispatch(topic, payload).catch((err: unknown) => {
        this.stats.dropped += 1;
        this.traffic?.dropped();
        this.log.error(`handling ${topic} failed: ${errorStack(err)}`);
      });
    });
    const granted = await this.client.subscribeAsync(Object.fromEntries(hubSubscriptions.map((s) => [s.topic, { qos: s.qos }])));
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length > 0) throw new Error(`broker refused the hub's subscriptions: ${refused.join(', ')}`);
  }

  async publish(topic: string, payload: unknown, options: { retain?: boolean } = {}): Promise<void> {
    const text = JSON.stringify(payload);
    this.traffic?.published(Buffer.byteLength(text));
    await this.client.publishAsync(topic, text, { qos: 1, retain: options.retain ?? false });
  }

  /** Removes a retained message (an empty retained payload, MQTT 3.1.1 §3.3.1.3). */
  async clearRetained(topic: string): Promise<void> {
    await this.client.publishAsync(topic, '', { qos: 1, retain: true });
  }

  /** Stops handing on deferred reports (the hub is closing). */
  stop(): void {
    for (const deferred of this.deferredReports.values()) clearTimeout(deferred.timer);
    this.deferredReports.clear();
  }

  private deferReport(deviceId: string, topic: string, payload: Buffer, retryAfterMs: number): void {
    const existing = this.deferredReports.get(deviceId);
    if (existing) {
      existing.payload = payload;
      return;
    }
    const deferred: { topic: string; payload: Buffer; timer?: NodeJS.Timeout } = { topic, payload };
    deferred.timer = setTimeout(() => {
      if (this.deferredReports.get(deviceId) !== deferred) return;
      this.deferredReports.delete(deviceId);
      this.dispatch(deferred.topic, deferred.payload).catch((err: unknown) => {
        this.stats.dropped += 1;
        this.log.error(`handling the deferred report of ${deviceId} failed: ${errorStack(err)}`);
      });
    }, Math.max(1, retryAfterMs));
    deferred.timer.unref();
    this.deferredReports.set(deviceId, deferred);
  }

  /** A newer report was taken: the deferred one is older and must not overwrite it. */
  private cancelDeferred(deviceId: string): void {
    const deferred = this.deferredReports.get(deviceId);
    if (!deferred) return;
    clearTimeout(deferred.timer);
    this.deferredReports.delete(deviceId);
  }

  private drop(topic: string, why: string): void {
    this.stats.dropped += 1;
    this.traffic?.dropped();
    this.log.warn(`dropped message on ${topic}: ${why}`);
  }

  private async dispatch(topic: string, payload: Buffer): Promise<void> {
    const address = parseTopic(topic);
    if (!address) return this.drop(topic, 'not an edgepilot v1 topic');
    switch (address.kind) {
      case 'join-request': {
        const decoded = decodePayload(joinRequestSchema, payload, payloadLimits.joinRequest);
        const response: JoinResponse = decoded.ok
          ? await this.handlers.join(address.nonce, decoded.value)
          : { ok: false, reason: 'invalid-request', message: `join request rejected: ${decoded.error}`.slice(0, 500) };
        if (!decoded.ok) this.drop(topic, decoded.error);
        await this.publish(topics.joinResponse(address.nonce), response);
        return;
      }
      case 'device': {
        const { deviceId, channel } = address;
        if (payload.length === 0) return; // a cleared retained message (MQTT 3.1.1 §3.3.1.3)
        const gate = this.gate?.admit(deviceId, channel);
        if (gate && !gate.admit) {
          this.stats.throttled += 1;
          if (channel === 'reported') this.deferReport(deviceId, topic, payload, gate.retryAfterMs);
          return;
        }
        if (channel === 'reported') this.cancelDeferred(deviceId);
        if (channel === 'status') {
          const decoded = decodePayload(statusSchema, payload, payloadLimits.status);
          return decoded.ok ? this.handlers.status(deviceId, decoded.value) : this.drop(topic, decoded.error);
        }
        if (channel === 'facts') {
          const decoded = decodePayload(factsSchema, payload, payloadLimits.facts);
          return decoded.ok ? this.handlers.facts(deviceId, decoded.value) : this.drop(topic, decoded.error);
        }
        if (channel === 'events') {
          const decoded = decodePayload(eventSchema, payload, payloadLimits.events);
          return decoded.ok ? this.handlers.event(deviceId, decoded.value) : this.drop(topic, decoded.error);
        }
        if (channel === 'reported') {
          const decoded = decodePayload(reportedStateSchema, payload, payloadLimits.reported);
          return decoded.ok ? this.handlers.reported(deviceId, decoded.value) : this.drop(topic, decoded.error);
        }
        if (channel === 'metrics') {
          const decoded = decodePayload(metricsSchema, payload, payloadLimits.metrics);
          return decoded.ok ? this.handlers.metrics(deviceId, decoded.value) : this.drop(topic, decoded.error);
        }
        if (channel === 'runs' && this.handlers.runs) {
          const decoded = decodePayload(jobRunsMessageSchema, payload, payloadLimits.runs);
          if (!decoded.ok) return this.drop(topic, decoded.error);
          await this.handlers.other(deviceId, channel, payload);
          return this.handlers.runs(deviceId, decoded.value);
        }
        if (channel === 'desired') return; // our own retained publication echoed back
        return this.handlers.other(deviceId, channel, payload);
      }
      case 'rpc-response':
        this.handlers.rpcResponse(address.deviceId, address.correlationId, payload);
        return this.handlers.other(address.deviceId, 'rpc', payload);
      case 'mcu-telemetry': {
        const decoded = decodePayload(mcuTelemetrySchema, payload, payloadLimits.telemetry);
        if (!decoded.ok) return this.drop(topic, decoded.error);
        if (decoded.value.mcu !== address.mcuId) return this.drop(topic, `payload is about MCU ${decoded.value.mcu}`);
        return this.handlers.telemetry(address.deviceId, decoded.value);
      }
      default:
        return;
    }
  }
}
