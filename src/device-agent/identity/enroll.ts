import type { Logger } from '../../common/log.js';
import type { Facts } from '../../protocol/index.js';
import type { ConnectMqtt } from '../session/mqtt-connect.js';
import { fetchBootstrap } from './bootstrap.js';
import { saveIdentity, type AgentIdentity } from './identity-file.js';
import { JoinRefusedError, joinFleet } from './join.js';

export interface EnrollParams {
  stateDir: string;
  hubUrl?: string;
  brokerUrl?: string;
  joinToken: string;
  hardwareId: string;
  agentVersion: string;
  facts: () => Promise<Facts>;
  connect: ConnectMqtt;
  log: Logger;
  signal: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), reject(signal.reason as Error)), { once: true });
  });

/**
 * Joins the fleet and keeps the identity durably. A board installed before the hub is up
 * keeps trying (capped backoff); a refusal (expired token …) ends it with the hub's reason.
 */
export async function enroll(params: EnrollParams): Promise<AgentIdentity> {
  const { log } = params;
  let delay = 1000;
  for (;;) {
    try {
      const brokerUrl = params.brokerUrl ?? (await fetchBootstrap(requireHub(params.hubUrl))).brokerUrl;
      const facts = await params.facts();
      const granted = await joinFleet({
        brokerUrl,
        token: params.joinToken,
        hardwareId: params.hardwareId,
        hostname: facts.hostname,
        agentVersion: params.agentVersion,
        facts,
        connect: params.connect,
        log,
      });
      const identity: AgentIdentity = {
        deviceId: granted.deviceId,
        password: granted.password,
        brokerUrl,
        ...(params.hubUrl ? { hubUrl: params.hubUrl } : {}),
        hardwareId: params.hardwareId,
        joinedAt: new Date().toISOString(),
      };
      await saveIdentity(params.stateDir, identity);
      log.info(`joined the fleet as ${granted.deviceId}${granted.reregistered ? ' (known board, same id)' : ''}`);
      return identity;
    } catch (err) {
      if (err instanceof JoinRefusedError || params.signal.aborted) throw err;
      log.warn(`joining failed, retrying in ${Math.round(delay / 1000)} s: ${(err as Error).message}`);
      await sleep(delay, params.signal);
      delay = Math.min(delay * 2, 30_000);
    }
  }
}

function requireHub(hubUrl: string | undefined): string {
  if (!hubUrl) throw new JoinRefusedError('to join, pass --hub <url> (or --broker <url>)');
  return hubUrl;
}
