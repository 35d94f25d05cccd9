import type { JoinRefusalReason } from '../../protocol/index.js';
import type { DeviceRecord, PendingRejoin } from '../store/records.js';
import type { NonceVerdict } from './join-nonces.js';

/**
 * What a join request may become. A join token grants a *new* identity; an existing one only to
 * the holder of its key, or to a key an administrator approved.
 */
export type JoinDecision =
  | { kind: 'refuse'; reason: JoinRefusalReason; message: string }
  | { kind: 'new' }
  /** A known board proving its stored key: same id, fresh credentials. */
  | { kind: 'rejoin-proven' }
  /** A known board with the key an administrator approved: same id, the new key is stored. */
  | { kind: 'rejoin-approved' }
  /** A known board with an unknown key: nothing changes but the pending request (stored if `record`). */
  | { kind: 'hold'; pending: PendingRejoin; record: boolean; message: string };

export interface JoinDecisionInput {
  /** The request's signature verifies with the public key it carries. */
  signatureValid: boolean;
  nonce: NonceVerdict;
  existing: Pick<DeviceRecord, 'id' | 'publicKey' | 'pendingRejoin'> | undefined;
  request: { publicKey: string; hostname: string; hardwareId: string; tokenId: string; timestamp: number };
  now: Date;
}

export function approveCommand(deviceId: string): string {
  return `edgepilot device approve ${deviceId}`;
}

export function decideJoin(input: JoinDecisionInput): JoinDecision {
  const { request, existing, now } = input;
  if (!input.signatureValid) {
    return { kind: 'refuse', reason: 'bad-signature', message: 'the join request is not signed by the key it carries' };
  }
  if (input.nonce === 'stale' || input.nonce === 'future') {
    return {
      kind: 'refuse',
      reason: 'stale-request',
      message: `join request made at ${new Date(request.timestamp).toISOString()} is outside the hub's window (hub time ${now.toISOString()}); check the board's clock`,
    };
  }
  if (input.nonce === 'replayed') {
    return { kind: 'refuse', reason: 'replayed-request', message: 'this join request was already answered (nonce used before); a new attempt needs a new nonce' };
  }
  if (!existing) return { kind: 'new' };
  if (existing.publicKey === request.publicKey) return { kind: 'rejoin-proven' };
  const pending = existing.pendingRejoin;
  if (pending?.approvedAt !== undefined && pending.publicKey === request.publicKey) return { kind: 'rejoin-approved' };
  const message =
    `hardware id ${request.hardwareId} belongs to device ${existing.id}, registered with another key; ` +
    `this join is held until an administrator runs: ${approveCommand(existing.id)}`;
  // An approved key is not displaced by another one; an unapproved request by the newest.
  if (pending && (pending.approvedAt !== undefined || pending.publicKey === request.publicKey)) {
    return { kind: 'hold', pending, record: false, message };
  }
  return {
    kind: 'hold',
    pending: { publicKey: request.publicKey, hostname: request.hostname, tokenId: request.tokenId, requestedAt: now.toISOString() },
    record: true,
    message,
  };
}
