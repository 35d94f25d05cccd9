import { request as httpRequest } from 'node:http';

export interface HttpGetResult {
  status: number;
  /** At most maxBytes of the body. */
  body: Buffer;
  /** The body's full length, so a caller can tell a truncated one. */
  length: number;
  /** The Retry-After header of a 429 or 503, as sent (the caller parses it). */
  retryAfter?: string;
}

/**
 * A plain GET on node:http(s). The agent uses this instead of the global fetch(): the first
 * fetch() loads undici, ~13 MB of RSS that a small board keeps for good after a single call.
 */
export async function httpGet(url: string, options: { timeoutMs: number; headers?: Record<string, string>; maxBytes?: number; signal?: AbortSignal; ca?: string }): Promise<HttpGetResult> {
  const target = new URL(url);
  // node:https (and with it node:tls) only for an https URL: an agent on plain HTTP and MQTT
  // never loads TLS's modules (~1 MB resident).
  const request = target.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  return new Promise((resolve, reject) => {
    const req = request(target, { method: 'GET', headers: options.headers, timeout: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}), ...(options.ca ? { ca: options.ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      // Past maxBytes the rest is read and dropped: callers that need the whole body check
      // its size (decodePayload does), a probe only needs the status.
      res.on('data', (chunk: Buffer) => {
        if (size < maxBytes) chunks.push(chunk.subarray(0, maxBytes - size));
        size += chunk.length;
      });
      const retryAfter = res.headers['retry-after'];
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), length: size, ...(retryAfter !== undefined ? { retryAfter } : {}) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
