/**
 * What a technician pastes into `--join-token`: the token the hub checks (`<id>.<secret>`),
 * optionally followed by `.<sha256 of the hub CA's DER, hex>` (kubeadm's discovery hash, in
 * the same string so it cannot be forgotten). The fingerprint never goes over the wire: the
 * agent uses it to decide whether to trust the CA the hub hands out before it trusts anything.
 * Tokens made before TLS have no fingerprint; they still parse, and are good only for a hub
 * reached over plain http (`--insecure`), or with a CA the agent was given by hand.
 */
export const CA_FINGERPRINT_PATTERN = /^[a-f0-9]{64}$/;

const TOKEN_WITH_OPTIONAL_CA = /^([a-z0-9]{6}\.[A-Za-z0-9_-]{32})(?:\.([a-f0-9]{64}))?$/;

export interface ParsedJoinToken {
  /** The part sent to the hub. */
  token: string;
  /** Lower-case hex sha256 of the hub CA certificate's DER encoding. */
  caFingerprint?: string;
}

export function parseJoinToken(text: string): ParsedJoinToken | undefined {
  const match = TOKEN_WITH_OPTIONAL_CA.exec(text.trim());
  if (!match?.[1]) return undefined;
  return { token: match[1], ...(match[2] ? { caFingerprint: match[2] } : {}) };
}

export function joinTokenWithCa(token: string, caFingerprint: string): string {
  if (!CA_FINGERPRINT_PATTERN.test(caFingerprint)) throw new Error('a CA fingerprint is 64 lower-case hex digits');
  return `${token}.${caFingerprint}`;
}
