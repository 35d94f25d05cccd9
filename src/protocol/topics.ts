/**
 * MQTT topic names: the one place they are spelled. The protocol version is part of every
 * topic so that a v2 hub can serve v1 agents side by side during an upgrade.
 */
export const PROTOCOL_VERSION = 'v1';
export const TOPIC_ROOT = `ep/${PROTOCOL_VERSION}`;

/** Device ids and join nonces are embedded in topics, so they must never contain / + # (MQTT 3.1.1 §4.7). */
export const DEVICE_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const NONCE_PATTERN = /^[a-f0-9]{32}$/;
export const MCU_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** A join session connects with this username and the join token as password. */
export const JOIN_USERNAME = 'join';

/** The client id a join session must use, so the broker can bind the connection to its nonce. */
export function joinClientId(nonce: string): string {
  return `join-${nonce}`;
}

export function nonceFromJoinClientId(clientId: string): string | undefined {
  const nonce = clientId.startsWith('join-') ? clientId.slice(5) : '';
  return NONCE_PATTERN.test(nonce) ? nonce : undefined;
}

export type DeviceChannel = 'status' | 'facts' | 'desired' | 'services' | 'reported' | 'events' | 'metrics' | 'runs' | 'rpc/req';

export const topics = {
  joinRequest: (nonce: string) => `${TOPIC_ROOT}/join/${nonce}/req`,
  joinResponse: (nonce: string) => `${TOPIC_ROOT}/join/${nonce}/res`,
  device: (deviceId: string, channel: DeviceChannel) => `${TOPIC_ROOT}/d/${deviceId}/${channel}`,
  status: (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}/status`,
  facts: (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}/facts`,
  desired: (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}/desired`,
  reported: (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}/reported`,
  events: (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}/events`,
  metrics: (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}/metrics`,
  /** Job and CronJob run records, agent → hub, QoS 1; the hub acknowledges on {@link topics.runsAck}. */
  runs: (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}/runs`,
  runsAck: (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}/runs/ack`,
  /** The services this device's instances use, with endpoints (hub → device, retained; issue 14). */
  services: (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}/services`,
  rpcRequest: (deviceId: string) => `${TOPIC_ROOT}/d/${deviceId}/rpc/req`,
  rpcResponse: (deviceId: string, correlationId: string) => `${TOPIC_ROOT}/d/${deviceId}/rpc/res/${correlationId}`,
  mcuTelemetry: (deviceId: string, mcuId: string) => `${TOPIC_ROOT}/d/${deviceId}/mcu/${mcuId}/telemetry`,
} as const;

/**
 * Subscriptions the hub holds (wildcards, MQTT 3.1.1 §4.7.1) and the QoS it asks for. Retained
 * state (status, facts, reported) comes again on every resubscribe and samples are superseded
 * by the next one, so QoS 0 suffices and saves a PUBACK per message in a registration storm;
 * what exists only once (join requests, events, rpc answers) is QoS 1.
 */
export const hubSubscriptions = [
  { topic: `${TOPIC_ROOT}/join/+/req`, qos: 1 },
  { topic: `${TOPIC_ROOT}/d/+/status`, qos: 0 },
  { topic: `${TOPIC_ROOT}/d/+/facts`, qos: 0 },
  { topic: `${TOPIC_ROOT}/d/+/reported`, qos: 0 },
  { topic: `${TOPIC_ROOT}/d/+/events`, qos: 1 },
  { topic: `${TOPIC_ROOT}/d/+/metrics`, qos: 0 },
  { topic: `${TOPIC_ROOT}/d/+/runs`, qos: 1 },
  { topic: `${TOPIC_ROOT}/d/+/rpc/res/+`, qos: 1 },
  { topic: `${TOPIC_ROOT}/d/+/mcu/+/telemetry`, qos: 0 },
] as const;

export type InboundTopic =
  | { kind: 'join-request'; nonce: string }
  | { kind: 'join-response'; nonce: string }
  | { kind: 'device'; deviceId: string; channel: Exclude<DeviceChannel, 'rpc/req'> }
  | { kind: 'rpc-request'; deviceId: string }
  | { kind: 'runs-ack'; deviceId: string }
  | { kind: 'rpc-response'; deviceId: string; correlationId: string }
  | { kind: 'mcu-telemetry'; deviceId: string; mcuId: string };

const deviceChannels = new Set(['status', 'facts', 'desired', 'services', 'reported', 'events', 'metrics', 'runs']);

/** Parses a topic into what it addresses; undefined for anything outside the v1 tree or malformed. */
export function parseTopic(topic: string): InboundTopic | undefined {
  const parts = topic.split('/');
  if (parts[0] !== 'ep' || parts[1] !== PROTOCOL_VERSION) return undefined;
  if (parts[2] === 'join' && parts.length === 5) {
    const nonce = parts[3] ?? '';
    if (!NONCE_PATTERN.test(nonce)) return undefined;
    if (parts[4] === 'req') return { kind: 'join-request', nonce };
    if (parts[4] === 'res') return { kind: 'join-response', nonce };
    return undefined;
  }
  if (parts[2] !== 'd') return undefined;
  const deviceId = parts[3] ?? '';
  if (!DEVICE_ID_PATTERN.test(deviceId)) return undefined;
  const rest = parts.slice(4);
  if (rest.length === 1 && deviceChannels.has(rest[0] ?? '')) {
    return { kind: 'device', deviceId, channel: rest[0] as Exclude<DeviceChannel, 'rpc/req'> };
  }
  if (rest.length === 2 && rest[0] === 'rpc' && rest[1] === 'req') return { kind: 'rpc-request', deviceId };
  if (rest.length === 2 && rest[0] === 'runs' && rest[1] === 'ack') return { kind: 'runs-ack', deviceId };
  if (rest.length === 3 && rest[0] === 'rpc' && rest[1] === 'res' && /^[A-Za-z0-9_-]{1,64}$/.test(rest[2] ?? '')) {
    return { kind: 'rpc-response', deviceId, correlationId: rest[2] ?? '' };
  }
  if (rest.length === 3 && rest[0] === 'mcu' && rest[2] === 'telemetry' && MCU_ID_PATTERN.test(rest[1] ?? '')) {
    return { kind: 'mcu-telemetry', deviceId, mcuId: rest[1] ?? '' };
  }
  return undefined;
}
