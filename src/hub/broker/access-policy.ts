import { topics, TOPIC_ROOT, MCU_ID_PATTERN, CORRELATION_ID_PATTERN } from '../../protocol/index.js';

/** Who a broker connection is, decided once at CONNECT. */
export type BrokerRole =
  | { kind: 'hub' }
  | { kind: 'join'; nonce: string }
  | { kind: 'device'; deviceId: string };

/** The channels a device may publish on, all under its own `ep/v1/d/<id>/`. */
const devicePublishChannels = new Set(['status', 'facts', 'reported', 'events', 'metrics', 'runs']);

/**
 * May this connection publish here? Devices publish only under their own id and never on the
 * channels the hub owns (`desired`, `services`, `rpc/req`); a join session only its own request topic.
 */
export function mayPublish(role: BrokerRole, topic: string): boolean {
  switch (role.kind) {
    case 'hub':
      return true;
    case 'join':
      return topic === topics.joinRequest(role.nonce);
    case 'device': {
      const prefix = `${TOPIC_ROOT}/d/${role.deviceId}/`;
      if (!topic.startsWith(prefix)) return false;
      const rest = topic.slice(prefix.length).split('/');
      if (rest.length === 1) return devicePublishChannels.has(rest[0] ?? '');
      if (rest.length === 3 && rest[0] === 'rpc' && rest[1] === 'res') return CORRELATION_ID_PATTERN.test(rest[2] ?? '');
      if (rest.length === 3 && rest[0] === 'mcu' && rest[2] === 'telemetry') return MCU_ID_PATTERN.test(rest[1] ?? '');
      return false;
    }
  }
}

/**
 * May this connection subscribe to this filter? Compared as exact strings: a device asking for
 * `ep/v1/d/+/desired` is refused even though its own topic would match the wildcard.
 */
export function maySubscribe(role: BrokerRole, filter: string): boolean {
  switch (role.kind) {
    case 'hub':
      return true;
    case 'join':
      return filter === topics.joinResponse(role.nonce);
    case 'device':
      return filter === topics.desired(role.deviceId) || filter === topics.services(role.deviceId) || filter === topics.rpcRequest(role.deviceId) || filter === topics.runsAck(role.deviceId);
  }
}

export const HUB_USERNAME = 'edgepilot-hub';
