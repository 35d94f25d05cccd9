import type { Logger } from '../../common/log.js';
import type { Facts } from '../../protocol/index.js';
import type { ConnectMqtt } from '../session/mqtt-connect.js';
import { HubTrustError } from '../../common/tls-trust.js';
import { fetchBootstrap } from './bootstrap.js';
import type { DeviceKey } from './device-key.js';
import { saveIdentity, type AgentIdentity } from './identity-file.js';
import { JoinRefusedError, isRetriableRefusal, joinFleet } from './join.js';
import { HubBusyError } from './hub-busy.js';
import { retryDelayMs } from '../session/reconnect-backoff.js';
import { errorMessage } from '../../common/errors.js';

export interface EnrollParams {
  stateDir: string;
  hubUrl?: string;
  brokerUrl?: string;
  joinToken: string;
  hardwareId: string;
  key: DeviceKey;
  agentVersion: string;
  facts: () => Promise<Facts>;
  connect: ConnectMqtt;
  log: Logger;
  signal: AbortSignal;
  /**
   * Decides which CA the hub's https and mqtts are verified against (undefined: a plain hub).
   * Called before each attempt: a hub that is not up yet is retried, a CA of the wrong
   * fingerprint ends the join.
   */
  trustHub?: () => Promise<string | undefined>;
  /**
   * Retry delays, full jitter over [0, min(maxMs, initialMs · 2^attempt)), plus the hub's
   * Retry-After when it named one (a held join waits for a technician; default 1 s doubling to 60 s).
   */
  retry?: { initialMs: number; maxMs: number };
  /** In [0, 1): spreads a fleet's retries (tests pass a fixed sequence). */
  random?: () => number;
}

/** The abort listener goes when the timer fires: a board waiting hours for approval must not pile them up. */
const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    const onAbort = (): void => (clearTimeout(timer), reject(signal.reason as Error));
    const timer = setTimeout(() => (signal.removeEventListener('abort', onAbort), resolve()), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Joins the fleet and keeps the identity durably. A board installed before the hub is up
 * keeps trying (capped backoff), and so does one whose join the hub holds for approval; a
 * refusal only an operator can fix (expired token …) ends it with the hub's reason.
 */
export async function enroll(params: EnrollParams): Promise<AgentIdentity> {
  const { log } = params;
  const retry = params.retry ?? { initialMs: 1000, maxMs: 60_000 };
  const backoff = { baseMs: retry.initialMs, capMs: retry.maxMs };
  let attempt = 0;
  for (;;) {
    try {
      const ca = await params.trustHub?.();
      const brokerUrl = params.brokerUrl ?? (await fetchBootstrap(requireHub(params.hubUrl), undefined, ca)).brokerUrl;
      const facts = await params.facts();
      const granted = await joinFleet({
        brokerUrl,
        token: params.joinToken,
        hardwareId: params.hardwareId,
        key: params.key,
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
      if (params.signal.aborted) throw err;
      // A whole plant powering up at once is refused together; Retry-After alone would bring it
      // back together too, so the jitter comes on top of the hub's wait.
      const delay = retryDelayMs(attempt, backoff, params.random ?? Math.random, err instanceof HubBusyError ? err.retryAfterMs : 0);
      attempt += 1;
      const wait = `${Math.round(delay / 100) / 10} s`;
      if (err instanceof HubBusyError) log.warn(`${err.message}; joining again in ${wait}`);
      else if (isRetriableRefusal(err)) {
        const what = err.code === 'approval-required' ? 'waiting for approval' : 'join refused';
        log.warn(`${what}, asking again in ${wait}: ${err.message}`);
      } else if (err instanceof JoinRefusedError) throw err;
      else if (err instanceof HubTrustError && err.code !== 'ca-unreachable') throw err;
      else log.warn(`joining failed, retrying in ${wait}: ${errorMessage(err)}`);
      await sleep(delay, params.signal);
    }
  }
}

function requireHub(hubUrl: string | undefined): string {
  if (!hubUrl) throw new JoinRefusedError('to join, pass --hub <url> (or --broker <url>)', 'no-hub');
  return hubUrl;
}
