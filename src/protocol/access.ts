import { CORRELATION_ID_PATTERN } from './schemas/rpc.js';
import { MCU_ID_PATTERN, TOPIC_ROOT } from './topics.js';

/**
 * The one table of what a device may do under its own `ep/v1/d/<id>/`. The embedded broker
 * checks each PUBLISH and SUBSCRIBE against it (src/hub/broker/access-policy.ts), and the hub
 * turns the same rows into Mosquitto dynamic-security ACLs for an external broker, so the two
 * brokers cannot drift apart. `+` stands for one topic level, which must match `level`.
 */
export interface DeviceTopicRule {
  /** Levels after `ep/v1/d/<id>/`. */
  readonly levels: readonly string[];
  /** publish: the device sends there; subscribe: the hub sends there and the device listens (exact filter only). */
  readonly access: 'publish' | 'subscribe';
  /** What the `+` level must look like. */
  readonly level?: RegExp;
}

export const deviceTopicRules: readonly DeviceTopicRule[] = [
  { levels: ['status'], access: 'publish' },
  { levels: ['facts'], access: 'publish' },
  { levels: ['reported'], access: 'publish' },
  { levels: ['events'], access: 'publish' },
  { levels: ['metrics'], access: 'publish' },
  { levels: ['runs'], access: 'publish' },
  { levels: ['rpc', 'res', '+'], access: 'publish', level: CORRELATION_ID_PATTERN },
  { levels: ['mcu', '+', 'telemetry'], access: 'publish', level: MCU_ID_PATTERN },
  { levels: ['desired'], access: 'subscribe' },
  { levels: ['services'], access: 'subscribe' },
  { levels: ['rpc', 'req'], access: 'subscribe' },
  { levels: ['runs', 'ack'], access: 'subscribe' },
];

/** A rule's topic for one device: literal, or an MQTT filter with `+` where the rule has one. */
export function deviceRuleTopic(deviceId: string, rule: DeviceTopicRule): string {
  return `${TOPIC_ROOT}/d/${deviceId}/${rule.levels.join('/')}`;
}

/** Does a concrete topic (no wildcards) under the device's own prefix match a rule of this access? */
export function deviceRuleAllows(deviceId: string, topic: string, access: DeviceTopicRule['access']): boolean {
  const prefix = `${TOPIC_ROOT}/d/${deviceId}/`;
  if (!topic.startsWith(prefix)) return false;
  const rest = topic.slice(prefix.length).split('/');
  return deviceTopicRules.some(
    (rule) =>
      rule.access === access &&
      rule.levels.length === rest.length &&
      rule.levels.every((level, i) => {
        const actual = rest[i] ?? '';
        return level === '+' ? (rule.level?.test(actual) ?? false) : level === actual;
      }),
  );
}

/** Join sessions: publish only `ep/v1/join/<nonce>/req`, read only `ep/v1/join/<nonce>/res` of their own nonce. */
export const joinTopicFilters = {
  request: `${TOPIC_ROOT}/join/+/req`,
  response: `${TOPIC_ROOT}/join/+/res`,
} as const;

/**
 * The MQTT username of a join session: `join.<token id>` ('.' never occurs in a device id, so
 * it cannot collide with one). An external broker knows one client per join token under this
 * name; the embedded broker also accepts the bare `join` of agents made before it.
 */
export function joinUsername(tokenId: string): string {
  return `join.${tokenId}`;
}

export function tokenIdFromJoinUsername(username: string): string | undefined {
  const match = /^join\.([a-z0-9]{6})$/.exec(username);
  return match?.[1];
}
