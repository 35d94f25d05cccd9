import type { MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import { TOPIC_ROOT, deviceRuleTopic, deviceTopicRules, joinTopicFilters, joinUsername } from '../../protocol/index.js';
import type { Logger } from '../../common/log.js';

/** Mosquitto's dynamic-security control topics (mosquitto_ctrl speaks the same JSON over them). */
const CONTROL_TOPIC = '$CONTROL/dynamic-security/v1';
const RESPONSE_TOPIC = `${CONTROL_TOPIC}/response`;

export const DYNSEC_HUB_USERNAME = 'edgepilot.hub';
const HUB_ROLE = 'edgepilot-hub';
const JOIN_ROLE = 'edgepilot-join';
const deviceRole = (deviceId: string): string => `edgepilot-device-${deviceId}`;

export interface DynsecAcl {
  acltype: 'publishClientSend' | 'publishClientReceive' | 'subscribeLiteral' | 'subscribePattern' | 'unsubscribeLiteral' | 'unsubscribePattern';
  topic: string;
  allow: boolean;
  priority?: number;
}

/**
 * Whether a refusal means "that role/ACL is there already". Mosquitto's dynamic-security answer
 * carries only an `error` text (no code field: `{"command":…,"error":"Role already exists"}`),
 * so its text is the only signal there is; this is the one place that reads it.
 */
function saysAlreadyExists(error: string): boolean {
  return /already exists/i.test(error);
}

/** A command the plugin refused; `code` is ours, the plugin's text is kept for the log. */
export class DynsecError extends Error {
  constructor(
    message: string,
    readonly code: 'dynsec-refused' | 'dynsec-timeout',
  ) {
    super(message);
  }
}

/**
 * A device's ACLs, from the protocol's one table: literal topics where the rule is literal,
 * patterns where it has a `+`; subscriptions only to exact filters (literal), and delivery only
 * of those topics.
 */
export function deviceAcls(deviceId: string): DynsecAcl[] {
  return deviceTopicRules.flatMap((rule): DynsecAcl[] => {
    const topic = deviceRuleTopic(deviceId, rule);
    if (rule.access === 'publish') return [{ acltype: 'publishClientSend', topic, allow: true }];
    return [
      { acltype: 'subscribeLiteral', topic, allow: true },
      { acltype: 'publishClientReceive', topic, allow: true },
    ];
  });
}

/**
 * Join sessions: requests on any nonce; responses only by exact topic. Mosquitto 2.0 ACLs
 * cannot bind a topic to the client id, so what keeps one session from reading another's
 * answer is that the nonce is secret (no join client may read requests) and that the one
 * wildcard the pattern would let through, `ep/v1/join/+/res` itself, is denied first.
 */
export function joinAcls(): DynsecAcl[] {
  return [
    { acltype: 'publishClientSend', topic: joinTopicFilters.request, allow: true },
    { acltype: 'subscribeLiteral', topic: joinTopicFilters.response, allow: false, priority: 10 },
    { acltype: 'subscribePattern', topic: joinTopicFilters.response, allow: true, priority: 1 },
    { acltype: 'publishClientReceive', topic: joinTopicFilters.response, allow: true },
  ];
}

export function hubAcls(): DynsecAcl[] {
  const all = `${TOPIC_ROOT.split('/')[0] ?? 'ep'}/#`;
  return [
    { acltype: 'publishClientSend', topic: all, allow: true },
    { acltype: 'publishClientReceive', topic: all, allow: true },
    { acltype: 'subscribePattern', topic: all, allow: true },
  ];
}

interface DynsecResponse {
  command: string;
  error?: string;
  correlationData?: string;
}

/**
 * The hub's admin connection to Mosquitto's dynamic-security plugin: it keeps one client and
 * one role per device (its own topics only), one client per join token, and the hub's own
 * client with its own role. Commands are the JSON `mosquitto_ctrl dynsec` sends.
 */
export class DynsecProvisioner {
  private readonly waiting = new Map<string, { resolve: (r: DynsecResponse) => void; timer: NodeJS.Timeout }>();
  private subscribed: Promise<void> | undefined;

  constructor(
    private readonly admin: MqttClient,
    private readonly log: Logger,
    private readonly timeoutMs = 10_000,
  ) {
    admin.on('message', (topic, payload) => {
      if (topic !== RESPONSE_TOPIC) return;
      let parsed: { responses?: DynsecResponse[] };
      try {
        parsed = JSON.parse(payload.toString('utf8')) as { responses?: DynsecResponse[] };
      } catch {
        return;
      }
      for (const response of parsed.responses ?? []) {
        const entry = response.correlationData ? this.waiting.get(response.correlationData) : undefined;
        if (!entry) continue;
        clearTimeout(entry.timer);
        this.waiting.delete(response.correlationData ?? '');
        entry.resolve(response);
      }
    });
  }

  /** One command; resolves with the plugin's error text (undefined: done). */
  async command(command: string, fields: Record<string, unknown>): Promise<string | undefined> {
    this.subscribed ??= this.admin.subscribeAsync(RESPONSE_TOPIC, { qos: 1 }).then(() => undefined);
    await this.subscribed;
    const correlationData = randomBytes(8).toString('hex');
    const answer = new Promise<DynsecResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(correlationData);
        reject(new DynsecError(`Mosquitto did not answer the dynamic-security command ${command} (is the plugin loaded, and the --broker user its admin?)`, 'dynsec-timeout'));
      }, this.timeoutMs);
      this.waiting.set(correlationData, { resolve, timer });
    });
    await this.admin.publishAsync(CONTROL_TOPIC, JSON.stringify({ commands: [{ command, ...fields, correlationData }] }), { qos: 1 });
    return (await answer).error;
  }

  private async must(command: string, fields: Record<string, unknown>): Promise<void> {
    const error = await this.command(command, fields);
    if (error !== undefined) throw new DynsecError(`dynamic security refused ${command}: ${error}`, 'dynsec-refused');
  }

  /**
   * Creates the role, or adds today's ACLs to one that exists (a restarted hub, a re-joined
   * board). Never delete-and-recreate a role that clients hold: Mosquitto 2.0.11 stopped
   * answering (and logging) every command after that.
   */
  private async putRole(rolename: string, acls: DynsecAcl[]): Promise<void> {
    const withPriority = acls.map((acl) => ({ priority: 0, ...acl }));
    const created = await this.command('createRole', { rolename, acls: withPriority });
    if (created === undefined) return;
    if (!saysAlreadyExists(created)) throw new DynsecError(`dynamic security refused createRole ${rolename}: ${created}`, 'dynsec-refused');
    for (const acl of withPriority) {
      const added = await this.command('addRoleACL', { rolename, ...acl });
      if (added !== undefined && !saysAlreadyExists(added)) throw new DynsecError(`dynamic security refused addRoleACL ${rolename} ${acl.topic}: ${added}`, 'dynsec-refused');
    }
  }

  /**
   * Makes the client afresh with this password and only this role. An existing one is deleted
   * first, which also ends its sessions: the old password must stop working (a re-joined board,
   * a restarted hub). Changing it in place instead left Mosquitto 2.0.11 silent on addClientRole.
   */
  private async putClient(username: string, password: string, rolename: string): Promise<void> {
    await this.command('deleteClient', { username });
    await this.must('createClient', { username, password, roles: [{ rolename }] });
  }

  /** The hub's roles (its own, and the one join clients share); the hub's client gets a fresh password. */
  async prepareHub(): Promise<{ username: string; password: string }> {
    await this.putRole(HUB_ROLE, hubAcls());
    await this.putRole(JOIN_ROLE, joinAcls());
    const password = randomBytes(24).toString('base64url');
    await this.putClient(DYNSEC_HUB_USERNAME, password, HUB_ROLE);
    return { username: DYNSEC_HUB_USERNAME, password };
  }

  /** Before the join answer goes out: the device can log in as soon as it reads it. */
  async provisionDevice(deviceId: string, password: string): Promise<void> {
    await this.putRole(deviceRole(deviceId), deviceAcls(deviceId));
    await this.putClient(deviceId, password, deviceRole(deviceId));
    this.log.info(`provisioned broker client and role for device ${deviceId}`);
  }

  /** Deleting the client also disconnects it (Mosquitto drops the clients of a deleted account). */
  async removeDevice(deviceId: string): Promise<void> {
    await this.command('deleteClient', { username: deviceId });
    await this.command('deleteRole', { rolename: deviceRole(deviceId) });
    this.log.info(`removed broker client and role of device ${deviceId}`);
  }

  async provisionJoinToken(tokenId: string, token: string): Promise<void> {
    await this.putClient(joinUsername(tokenId), token, JOIN_ROLE);
  }

  /** Whether the broker knows the join token's account (tokens made before --broker-dynsec have none). */
  async hasJoinToken(tokenId: string): Promise<boolean> {
    return (await this.command('getClient', { username: joinUsername(tokenId) })) === undefined;
  }

  async removeJoinToken(tokenId: string): Promise<void> {
    await this.command('deleteClient', { username: joinUsername(tokenId) });
  }
}
