import { randomBytes } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import {
  JOIN_USERNAME,
  decodePayload,
  joinClientId,
  joinResponseSchema,
  payloadLimits,
  topics,
  type Facts,
  type JoinResponse,
} from '../../protocol/index.js';
import { isAuthRefusal, type ConnectMqtt } from '../session/mqtt-connect.js';

export interface JoinParams {
  brokerUrl: string;
  token: string;
  hardwareId: string;
  hostname: string;
  agentVersion: string;
  facts: Facts;
  connect: ConnectMqtt;
  log: Logger;
  timeoutMs?: number;
}

/** A refusal the agent cannot fix by retrying: the operator has to act (new token, etc.). */
export class JoinRefusedError extends Error {}

/**
 * One join attempt: connect as a join session bound to a fresh nonce, publish the request on
 * our own nonce topic, wait for the hub's answer on the matching response topic.
 */
export async function joinFleet(params: JoinParams): Promise<Extract<JoinResponse, { ok: true }>> {
  const nonce = randomBytes(16).toString('hex');
  const client = params.connect(params.brokerUrl, {
    clientId: joinClientId(nonce),
    username: JOIN_USERNAME,
    password: params.token,
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
    if (isAuthRefusal(err)) throw new JoinRefusedError('the hub refused the join token (not issued by this hub, or mistyped)');
    throw err;
  }
  try {
    const response = new Promise<JoinResponse>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no answer from the hub to the join request')), params.timeoutMs ?? 15_000);
      client.on('message', (_topic, payload) => {
        const decoded = decodePayload(joinResponseSchema, payload, payloadLimits.joinResponse);
        clearTimeout(timer);
        if (decoded.ok) resolve(decoded.value);
        else reject(new Error(`malformed join response: ${decoded.error}`));
      });
    });
    const granted = await client.subscribeAsync(topics.joinResponse(nonce), { qos: 1 });
    if (granted[0]?.qos === 128) throw new Error('broker refused the join response subscription');
    const request = { token: params.token, hardwareId: params.hardwareId, hostname: params.hostname, agentVersion: params.agentVersion, facts: params.facts };
    await client.publishAsync(topics.joinRequest(nonce), JSON.stringify(request), { qos: 1 });
    const answer = await response;
    if (!answer.ok) throw new JoinRefusedError(answer.message);
    return answer;
  } finally {
    await client.endAsync().catch(() => undefined);
  }
}
