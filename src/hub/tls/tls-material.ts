import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { ensureDir, readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { certificateFingerprint, firstCertificatePem } from '../../common/tls-trust.js';
import { createCa, issueServerCertificate } from './hub-ca.js';

/** What the hub serves mqtts and https with, and what it tells agents and the CLI to trust. */
export interface HubTls {
  /** The CA certificate (PEM) agents and the CLI pin. */
  ca: string;
  /** sha256 of the CA's DER, hex: the fingerprint join tokens carry. */
  caFingerprint: string;
  /** Server certificate chain (PEM) and its key. */
  cert: string;
  key: string;
}

/** Certificates handed in with --tls-cert/--tls-key/--tls-ca (read by the composition root). */
export interface GivenTls {
  cert: string;
  key: string;
  ca: string;
}

/** A TLS set-up problem the technician must fix; `code` for callers. */
export class HubTlsError extends Error {
  constructor(
    message: string,
    readonly code: 'tls-files-incomplete' | 'tls-file-unreadable' | 'tls-cert-not-from-ca',
  ) {
    super(message);
  }
}

/** The names a client may use for this hub: loopback, the host name, every interface address, extras. */
export function defaultServerNames(extra: readonly string[] = []): string[] {
  const names = new Set<string>(['localhost', '127.0.0.1', '::1', hostname()]);
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) names.add(address.address.replace(/%.*$/, ''));
  }
  for (const name of extra) names.add(name);
  return [...names].filter((name) => name !== '');
}

/** The DNS names and IPs a certificate is valid for, in one spelling (see normalName). */
function namesIn(pem: string): Set<string> {
  const san = new X509Certificate(pem).subjectAltName ?? '';
  return new Set(san.split(', ').map((entry) => normalName(entry.replace(/^(DNS|IP Address):/, ''))));
}

/** X509Certificate prints IPv6 uncompressed and upper-case (0:0:0:0:0:0:0:1); the URL parser compresses it (::1). */
function normalName(name: string): string {
  if (isIP(name) !== 6) return name.toLowerCase();
  return new URL(`http://[${name}]/`).hostname.replace(/^\[|\]$/g, '');
}

export function tlsDir(dataDir: string): string {
  return join(dataDir, 'tls');
}

/**
 * The hub's TLS material. Given certificates are used as they are. Otherwise the CA is made on
 * the first start and kept (its fingerprint is in every join token handed out since); the
 * server certificate is made again when it lacks one of today's names or is about to expire,
 * signed by the same CA, so agents never notice. Keys are written 0600, durably.
 */
export async function loadOrCreateHubTls(dataDir: string, options: { names: readonly string[]; now: Date; given?: GivenTls }): Promise<HubTls> {
  if (options.given) {
    const ca = firstCertificatePem(options.given.ca);
    if (!ca) throw new HubTlsError('--tls-ca holds no certificate', 'tls-file-unreadable');
    if (!issuedBy(options.given.cert, ca)) throw new HubTlsError('--tls-cert is not issued by --tls-ca', 'tls-cert-not-from-ca');
    return { ca, caFingerprint: certificateFingerprint(ca), cert: options.given.cert, key: options.given.key };
  }
  const dir = tlsDir(dataDir);
  await ensureDir(dir);
  const paths = { ca: join(dir, 'ca.pem'), caKey: join(dir, 'ca-key.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server-key.pem') };
  let ca = await readFileIfExists(paths.ca);
  let caKey = await readFileIfExists(paths.caKey);
  if (ca === undefined || caKey === undefined) {
    if (ca !== undefined || caKey !== undefined) {
      throw new HubTlsError(`${dir} holds only half of the CA (ca.pem and ca-key.pem go together); restore the other, or remove both to make a new CA (every agent must join again)`, 'tls-files-incomplete');
    }
    const made = createCa(options.now);
    // The key first: a CA certificate without its key could never sign a server certificate.
    await writeFileDurably(paths.caKey, made.key);
    await writeFileDurably(paths.ca, made.cert);
    ca = made.cert;
    caKey = made.key;
  }
  let cert = await readFileIfExists(paths.cert);
  let key = await readFileIfExists(paths.key);
  if (cert === undefined || key === undefined || needsNewServerCertificate(cert, ca, options.names, options.now)) {
    const issued = issueServerCertificate({ cert: ca, key: caKey }, options.names, options.now);
    await writeFileDurably(paths.key, issued.key);
    await writeFileDurably(paths.cert, issued.cert);
    cert = issued.cert;
    key = issued.key;
  }
  return { ca, caFingerprint: certificateFingerprint(ca), cert, key };
}

const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

export function needsNewServerCertificate(cert: string, ca: string, names: readonly string[], now: Date): boolean {
  let parsed: X509Certificate;
  try {
    parsed = new X509Certificate(cert);
  } catch {
    return true;
  }
  if (!issuedBy(cert, ca)) return true;
  if (new Date(parsed.validTo).getTime() - now.getTime() < RENEW_BEFORE_MS) return true;
  const have = namesIn(cert);
  return names.some((name) => !have.has(normalName(name)));
}

/** Named as issued by the CA *and* signed with its key (checkIssued alone compares names only). */
function issuedBy(cert: string, ca: string): boolean {
  try {
    const parsed = new X509Certificate(cert);
    const authority = new X509Certificate(ca);
    return parsed.checkIssued(authority) && parsed.verify(authority.publicKey);
  } catch {
    return false;
  }
}
