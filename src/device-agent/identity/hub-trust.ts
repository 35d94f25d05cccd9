import { join } from 'node:path';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { HubTrustError, certificateFingerprint, fetchPinnedHubCa, firstCertificatePem } from '../../common/tls-trust.js';
import type { Logger } from '../../common/log.js';

export function pinnedCaPath(stateDir: string): string {
  return join(stateDir, 'hub-ca.pem');
}

export interface HubTrustParams {
  stateDir: string;
  hubUrl?: string;
  /** From the join token (`<id>.<secret>.<fingerprint>`). */
  caFingerprint?: string;
  /** A CA given by hand (--hub-ca), for tokens made before TLS or hubs with their own PKI. */
  caFile?: string;
  log: Logger;
}

/**
 * The CA this agent verifies the hub's API and broker against, or undefined for a plain
 * (--insecure) hub. Order: a CA given by hand; the pinned one (unless the join token names
 * another, which is the operator moving the board to another hub); the hub's own, fetched
 * untrusted and kept only when its fingerprint is the token's. An https hub with no way to
 * check its CA is refused: trusting on first use is what the fingerprint exists to avoid.
 */
export async function resolveHubTrust(params: HubTrustParams): Promise<string | undefined> {
  const path = pinnedCaPath(params.stateDir);
  if (params.caFile) {
    const text = await readFileIfExists(params.caFile);
    const ca = text === undefined ? undefined : firstCertificatePem(text);
    if (ca === undefined) throw new HubTrustError(`--hub-ca ${params.caFile} holds no certificate`, 'ca-malformed');
    return ca;
  }
  const pinned = await readFileIfExists(path);
  if (pinned !== undefined && (params.caFingerprint === undefined || certificateFingerprint(pinned) === params.caFingerprint)) return pinned;
  const hubUrl = params.hubUrl;
  if (hubUrl === undefined || !hubUrl.startsWith('https:')) {
    if (params.caFingerprint !== undefined && hubUrl === undefined) {
      throw new HubTrustError('the join token names a hub CA, but there is no --hub <https url> to fetch it from', 'ca-unreachable');
    }
    return pinned;
  }
  if (params.caFingerprint === undefined) {
    throw new HubTrustError(
      `the hub ${hubUrl} uses TLS but the join token carries no CA fingerprint (a token made before TLS): create a new one with 'edgepilot token create', or pass --hub-ca <pem>`,
      'ca-fingerprint-mismatch',
    );
  }
  const ca = await fetchPinnedHubCa(hubUrl, params.caFingerprint);
  await writeFileDurably(path, ca);
  params.log.info(`pinned the hub's CA (sha256 ${params.caFingerprint.slice(0, 16)}…) in ${path}`);
  return ca;
}
