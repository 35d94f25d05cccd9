import { httpGet } from '../../common/http-get.js';
import { bootstrapSchema, decodePayload, type Bootstrap } from '../../protocol/index.js';
import { parseRetryAfterMs } from '../session/reconnect-backoff.js';
import { HubBusyError } from './hub-busy.js';
import { errnoCode, errorMessage } from '../../common/errors.js';

/** Asks the hub where its broker is (public endpoint; no credentials needed yet; over https verified against `ca`). */
export async function fetchBootstrap(hubUrl: string, signal?: AbortSignal, ca?: string): Promise<Bootstrap> {
  const url = new URL('/v1/bootstrap', hubUrl);
  let answer;
  try {
    answer = await httpGet(url.href, { timeoutMs: 10_000, maxBytes: 16 * 1024, ...(signal ? { signal } : {}), ...(ca ? { ca } : {}) });
  } catch (err) {
    throw new Error(`cannot reach hub at ${hubUrl}: ${errnoCode(err) ?? errorMessage(err)}`);
  }
  if (answer.status === 429 || answer.status === 503) {
    const retryAfterMs = parseRetryAfterMs(answer.retryAfter, Date.now());
    throw new HubBusyError(`hub at ${hubUrl} is busy (${answer.status}${answer.retryAfter !== undefined ? `, Retry-After ${answer.retryAfter}` : ''})`, retryAfterMs);
  }
  if (answer.status !== 200) throw new Error(`hub at ${hubUrl} answered ${answer.status} to ${url.pathname}`);
  if (answer.length > answer.body.length) throw new Error(`hub at ${hubUrl} sent a bootstrap answer of ${answer.length} bytes`);
  const decoded = decodePayload(bootstrapSchema, answer.body, 16 * 1024);
  if (!decoded.ok) throw new Error(`hub at ${hubUrl} sent a malformed bootstrap answer: ${decoded.error}`);
  return decoded.value;
}
