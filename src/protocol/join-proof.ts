/**
 * Proof of a device key in a join request. The agent signs these canonical bytes with its
 * Ed25519 private key; the hub verifies them with the public key sent alongside (first join) or
 * with the one it stored (a re-join of a known board). Binding the nonce, the hardware id, the
 * token id and the time means a captured request cannot be reused for another session, board,
 * token or, once its time window has passed, at all.
 */
export interface JoinProofFields {
  nonce: string;
  hardwareId: string;
  /** The public half of the join token (`<id>.<secret>`): the secret is never signed or sent twice. */
  tokenId: string;
  /** The agent's Ed25519 public key, SPKI DER in base64. */
  publicKey: string;
  /** When the agent made the request, milliseconds since the epoch. */
  timestamp: number;
}

/** Versioned so a later format can never be confused with this one. */
export const JOIN_PROOF_CONTEXT = 'edgepilot-join-proof-v1';

/**
 * The signed bytes: a JSON array in a fixed order. JSON.stringify of strings and integers is
 * deterministic, and the array form leaves no ambiguity about where one field ends.
 */
export function joinProofPayload(fields: JoinProofFields): Uint8Array {
  const text = JSON.stringify([JOIN_PROOF_CONTEXT, fields.nonce, fields.hardwareId, fields.tokenId, fields.publicKey, fields.timestamp]);
  return new TextEncoder().encode(text);
}

/** The id part of a join token; the hub looks tokens up by it. */
export function joinTokenId(token: string): string {
  const dot = token.indexOf('.');
  return dot > 0 ? token.slice(0, dot) : token;
}

/**
 * How far a join request's timestamp may be from the hub's clock. Older requests are refused
 * (a replay after the nonce memory is gone); newer ones too (a request made to be replayed later).
 */
export const JOIN_REQUEST_MAX_AGE_MS = 5 * 60_000;
export const JOIN_REQUEST_MAX_SKEW_MS = 60_000;
