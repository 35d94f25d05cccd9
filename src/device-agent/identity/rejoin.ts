import type { Logger } from '../../common/log.js';
import type { Facts } from '../../protocol/index.js';
import type { ConnectMqtt } from '../session/mqtt-connect.js';
import type { DeviceKey } from './device-key.js';
import { deviceKeyPath } from './device-key.js';
import { identityPath, saveIdentity, type AgentIdentity } from './identity-file.js';
import { joinFleet } from './join.js';

export interface RejoinParams {
  stateDir: string;
  identity: AgentIdentity;
  joinToken: string;
  hardwareId: string;
  key: DeviceKey;
  agentVersion: string;
  facts: () => Promise<Facts>;
  connect: ConnectMqtt;
  log: Logger;
}

/**
 * After the broker refused our credentials: one join attempt proving the device key. The hub
 * answers with the same device id and new credentials, which are kept durably before use. A
 * different id (the device was deleted, so this is a new one) is kept too, but this running
 * agent is built around its old id: it says so and resolves undefined (the caller stops
 * renewing, so a long-lived token is not spent on one new device per retry).
 */
export async function rejoinWithKey(params: RejoinParams): Promise<string | undefined> {
  const facts = await params.facts();
  const granted = await joinFleet({
    brokerUrl: params.identity.brokerUrl,
    token: params.joinToken,
    hardwareId: params.hardwareId,
    key: params.key,
    hostname: facts.hostname,
    agentVersion: params.agentVersion,
    facts,
    connect: params.connect,
    log: params.log,
  });
  if (granted.deviceId !== params.identity.deviceId) {
    // The old device is gone (deleted on the hub): keep the new identity so a restart uses it.
    await saveIdentity(params.stateDir, { ...params.identity, deviceId: granted.deviceId, password: granted.password, joinedAt: new Date().toISOString() });
    params.log.error(
      `re-joining gave a new device id ${granted.deviceId} (this agent ran as ${params.identity.deviceId}, probably deleted on the hub); ` +
        'it is kept in the state folder and the agent starts again as the new device',
    );
    return undefined;
  }
  await saveIdentity(params.stateDir, { ...params.identity, password: granted.password, joinedAt: new Date().toISOString() });
  params.log.info(`re-joined the fleet as ${granted.deviceId} with new credentials (device key proven)`);
  return granted.password;
}

/** What the technician reads each time the broker refuses this device's credentials. */
export function credentialsRefusedHint(stateDir: string, withJoinToken: boolean): string {
  if (withJoinToken) return 'Started with a join token: re-joining by proving this board\'s device key.';
  return (
    `To join again: stop the agent, remove ${identityPath(stateDir)} and start it with --hub <url> --join-token <token> ` +
    `(keep ${deviceKeyPath(stateDir)}: it proves this is the same board).`
  );
}
