import { X509Certificate, createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type * as https from 'node:https';
import { errnoCode, errorMessage } from './errors.js';

/**
 * node:https on first use: it loads node:tls, and an agent that talks to its hub over plain
 * HTTP and MQTT (a trusted network) then never keeps TLS's modules in memory (~1 MB resident).
 */
const loadHttps = (): Promise<typeof https> => import('node:https');

/** Why trusting a hub's CA failed; callers branch on `code`, never on the text. */
export class HubTrustError extends Error {
  constructor(
    message: string,
    readonly code: 'ca-unreachable' | 'ca-malformed' | 'ca-fingerprint-mismatch',
  ) {
    super(message);
  }
}

/** sha256 of a certificate's DER encoding, lower-case hex (kubeadm's CA cert hash, without its prefix). */
export function certificateFingerprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

/** The first certificate of a PEM text, or undefined when there is none. */
export function firstCertificatePem(text: string): string | undefined {
  const match = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(text);
  return match ? `${match[0]}\n` : undefined;
}

/** Where the hub hands out its CA certificate (public: a CA certificate is no secret). */
export const HUB_CA_PATH = '/v1/bootstrap/ca';

/**
 * Fetches the hub's CA certificate *without* trusting the connection, then accepts it only if
 * its fingerprint is the one the caller got out of band (join token, `--ca-fingerprint`). Anyone
 * in the middle can answer this request, but not with a certificate of that fingerprint; and
 * since every later connection is verified against the pinned CA, they cannot follow up either.
 */
export async function fetchPinnedHubCa(hubUrl: string, expectedFingerprint: string, timeoutMs = 10_000): Promise<string> {
  const url = new URL(HUB_CA_PATH, hubUrl);
  if (url.protocol !== 'https:') throw new HubTrustError(`the hub ${hubUrl} is not https: there is no CA to check`, 'ca-unreachable');
  const { request: httpsRequest } = await loadHttps();
  const body = await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(url, { method: 'GET', rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > 64 * 1024) req.destroy(new Error('answer larger than 64 KB'));
        else chunks.push(chunk);
      });
      res.on('end', () => (res.statusCode === 200 ? resolve(Buffer.concat(chunks).toString('utf8')) : reject(new Error(`answered ${res.statusCode ?? 0}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  }).catch((err: unknown) => {
    throw new HubTrustError(`cannot fetch the CA certificate from ${url.href}: ${errnoCode(err) ?? errorMessage(err)}`, 'ca-unreachable');
  });
  const pem = firstCertificatePem(body);
  let actual: string | undefined;
  try {
    actual = pem === undefined ? undefined : certificateFingerprint(pem);
  } catch {
    actual = undefined;
  }
  if (pem === undefined || actual === undefined) throw new HubTrustError(`${url.href} did not answer with a certificate`, 'ca-malformed');
  if (actual !== expectedFingerprint) {
    throw new HubTrustError(
      `the hub at ${hubUrl} presented a CA with fingerprint ${actual}, not the expected ${expectedFingerprint}: refusing to trust it (wrong hub, or someone in between)`,
      'ca-fingerprint-mismatch',
    );
  }
  return pem;
}

/**
 * A fetch() for one hub that verifies the server against a pinned CA. The global fetch()
 * cannot take a CA without the undici package, so this goes through node:https and wraps the
 * answer in a standard Response (streaming bodies included).
 */
export function fetchTrustingCa(ca: string): typeof fetch {
  return async (input, init) => {
    const { request: httpsRequest } = await loadHttps();
    return new Promise<Response>((resolve, reject) => {
      const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
      const headers = new Headers(init?.headers);
      const body = init?.body;
      if (body !== undefined && body !== null && typeof body !== 'string' && !(body instanceof Uint8Array)) {
        reject(new TypeError('fetchTrustingCa sends string or byte bodies only'));
        return;
      }
      const req = httpsRequest(
        url,
        { method: init?.method ?? 'GET', headers: Object.fromEntries(headers.entries()), ca, ...(init?.signal ? { signal: init.signal } : {}) },
        (res) => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (Array.isArray(value)) for (const v of value) responseHeaders.append(name, v);
            else if (value !== undefined) responseHeaders.set(name, value);
          }
          const status = res.statusCode ?? 0;
          const noBody = status === 204 || status === 304 || init?.method === 'HEAD';
          resolve(
            new Response(noBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
              status,
              statusText: res.statusMessage ?? '',
              headers: responseHeaders,
            }),
          );
        },
      );
      // The same shape as fetch()'s own failures: a TypeError whose cause carries the code.
      req.on('error', (err) => reject(Object.assign(new TypeError('fetch failed'), { cause: err })));
      if (body !== undefined && body !== null) req.write(body);
      req.end();
    });
  };
}
