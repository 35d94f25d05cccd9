import { randomBytes } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import {
  decodePayload,
  joinClientId,
  joinResponseSchema,
  joinTokenId,
  joinUsername,
  parseJoinToken,
  payloadLimits,
  topics,
  type Facts,
  type JoinRefusalReason,
  type JoinRequest,
  type JoinResponse,
} from '../../protocol/index.js';
import { isAuthRefusal, isConnackRefusal, type ConnectMqtt } from '../session/mqtt-connect.js';
import { HubBusyError } from './hub-busy.js';
import type { DeviceKey } from './device-key.js';

export interface JoinParams {
  brokerUrl: string;
  token: string;
  hardwareId: string;
  hostname: string;
  agentVersion: string;
  facts: Facts;
  /** Proves the device's identity; the hub stores its public half at the first join. */
  key: DeviceKey;
  connect: ConnectMqtt;
  log: Logger;
  timeoutMs?: number;
  /** Milliseconds since the epoch, for the signed timestamp. */
  now?: () => number;
}

/** The hub refused the join; `code` says why (the protocol's refusal reasons, or `no-hub`/`token-refused`). */
export class JoinRefusedError extends Error {
  constructor(
    message: string,
    readonly code: JoinRefusalReason | 'no-hub' | 'token-refused',
  ) {
    super(message);
  }
}

/** The part of a join token the hub checks: a CA fingerprint after it is for the agent alone (join-token.ts). */
function tokenForHub(token: string): string {
  return parseJoinToken(token)?.token ?? token;
}

/** Refusals that go away without a new token: an approval, a correct clock, a fresh nonce. */
export function isRetriableRefusal(err: unknown): err is JoinRefusedError {
  return err instanceof JoinRefusedError && (err.code === 'approval-required' || err.code === 'stale-request' || err.code === 'replayed-request');
}

/** A signed join request for one nonce (exported for tests that replay it). */
export function signedJoinRequest(nonce: string, params: Omit<JoinParams, 'brokerUrl' | 'connect' | 'log'>): JoinRequest {
  const token = tokenForHub(params.token);
  const timestamp = (params.now ?? Date.now)();
  const signature = params.key.sign({ nonce, hardwareId: params.hardwareId, tokenId: joinTokenId(token), timestamp });
  return {
    token,
    hardwareId: params.hardwareId,
    hostname: params.hostname,
    agentVersion: params.agentVersion,
    facts: params.facts,
    publicKey: params.key.publicKey,
    timestamp,
    signature,
  };
}

/**
 * One join attempt: connect as a join session bound to a fresh nonce, publish the request on
 * our own nonce topic, wait for the hub's answer on the matching response topic.
 */
export async function joinFleet(params: JoinParams): Promise<Extract<JoinResponse, { ok: true }>> {
  const nonce = randomBytes(16).toString('hex');
  const client = params.connect(params.brokerUrl, {
    clientId: joinClientId(nonce),
    // Names the token, so an external broker can hold one client per token (dynamic security).
    username: joinUsername(joinTokenId(tokenForHub(params.token))),
    password: tokenForHub(params.token),
    clean: true,
    writeCache: false,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', (err) => reject(err));
      client.once('close', () => reject(new Error(`connection to ${params.brokerUrl} closed`)));
    });
  } catch (err) {
    client.end(true);
    if (isAuthRefusal(err)) throw new JoinRefusedError('the hub refused the join token (not issued by this hub, or mistyped)', 'token-refused');
    if (isConnackRefusal(err) && (err as { code: number }).code === 3) throw new HubBusyError(`the broker at ${params.brokerUrl} is busy (CONNACK 3, server unavailable)`);
    throw err;
  }
  // One deadline and the connection's end bound the whole exchange, not only the wait for the
  // answer: with reconnectPeriod 0, a SUBSCRIBE or QoS 1 PUBLISH whose connection drops is never
  // answered by mqtt.js, and a join stuck there would never reach the caller's retry.
  let timer: NodeJS.Timeout | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error('no answer from the hub to the join request')), params.timeoutMs ?? 15_000);
    client.once('close', () => reject(new Error(`connection to ${params.brokerUrl} closed before the hub answered the join request`)));
    client.once('error', (err) => reject(err));
  });
  aborted.catch(() => undefined); // handled by the race below; never an unhandled rejection
  try {
    const response = new Promise<JoinResponse>((resolve, reject) => {
      client.on('message', (_topic, payload) => {
        const decoded = decodePayload(joinResponseSchema, payload, payloadLimits.joinResponse);
        if (decoded.ok) resolve(decoded.value);
        else reject(new Error(`malformed join response: ${decoded.error}`));
      });
    });
    const exchange = (async (): Promise<JoinResponse> => {
      const granted = await client.subscribeAsync(topics.joinResponse(nonce), { qos: 1 });
      if (granted[0]?.qos === 128) throw new Error('broker refused the join response subscription');
      await client.publishAsync(topics.joinRequest(nonce), JSON.stringify(signedJoinRequest(nonce, params)), { qos: 1 });
      return response;
    })();
    exchange.catch(() => undefined);
    const answer = await Promise.race([exchange, aborted]);
    if (!answer.ok) throw new JoinRefusedError(answer.message, answer.reason);
    return answer;
  } finally {
    clearTimeout(timer);
    // A graceful end waits until every outgoing packet is acknowledged, which after a dropped
    // connection is never: force it whenever something is still outstanding.
    await client.endAsync(Object.keys(client.outgoing).length > 0).catch(() => undefined);
  }
}
