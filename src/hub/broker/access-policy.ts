import { deviceRuleAllows, deviceRuleTopic, deviceTopicRules, topics } from '../../protocol/index.js';

/** Who a broker connection is, decided once at CONNECT. */
export type BrokerRole =
  | { kind: 'hub' }
  | { kind: 'join'; nonce: string }
  | { kind: 'device'; deviceId: string };

/**
 * May this connection publish here? Devices publish only under their own id and never on the
 * channels the hub owns (`desired`, `rpc/req`); a join session only its own request topic.
 * The device rules are the protocol's table, which also makes an external broker's ACLs.
 */
export function mayPublish(role: BrokerRole, topic: string): boolean {
  switch (role.kind) {
    case 'hub':
      return true;
    case 'join':
      return topic === topics.joinRequest(role.nonce);
    case 'device':
      return deviceRuleAllows(role.deviceId, topic, 'publish');
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
      return deviceTopicRules.some((rule) => rule.access === 'subscribe' && deviceRuleTopic(role.deviceId, rule) === filter);
  }
}

export const HUB_USERNAME = 'edgepilot-hub';
