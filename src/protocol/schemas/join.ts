import * as z from 'zod';
import { deviceIdSchema, labelsSchema } from './common.js';
import { factsSchema } from './facts.js';

/** An Ed25519 public key in SPKI DER (44 bytes, a fixed 12-byte prefix) as base64. */
export const DEVICE_PUBLIC_KEY_PATTERN = /^MCowBQYDK2VwAyEA[A-Za-z0-9+/]{43}=$/;

/** Join tokens look like kubeadm's: `<id>.<secret>`; the id is public, the secret is not. */
export const JOIN_TOKEN_PATTERN = /^[a-z0-9]{6}\.[A-Za-z0-9_-]{32}$/;

export const joinRequestSchema = z.strictObject({
  token: z.string().regex(JOIN_TOKEN_PATTERN, 'malformed join token'),
  /** Stable per board (machine id, SoC serial): the same board joining again keeps its device id. */
  hardwareId: z.string().min(8).max(128).regex(/^[\x21-\x7e]+$/, 'hardware id must be printable ASCII without spaces'),
  hostname: z.string().min(1).max(253),
  agentVersion: z.string().max(64),
  facts: factsSchema,
  /** The agent's Ed25519 public key (SPKI DER, base64): the device's identity from now on. */
  publicKey: z.string().regex(DEVICE_PUBLIC_KEY_PATTERN, 'public key must be an Ed25519 SPKI key in base64'),
  /** Milliseconds since the epoch; the hub refuses requests outside its time window. */
  timestamp: z.number().int().positive(),
  /** Ed25519 signature (base64) over joinProofPayload(nonce, hardwareId, token id, publicKey, timestamp). */
  signature: z.string().regex(/^[A-Za-z0-9+/]{86}==$/, 'signature must be 64 bytes in base64'),
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

export const joinRefusalReasons = [
  'unknown-token',
  'expired-token',
  'exhausted-token',
  'revoked-token',
  'invalid-request',
  /** The signature does not verify with the key in the request. */
  'bad-signature',
  /** The timestamp is outside the hub's window (or the agent's clock is wrong). */
  'stale-request',
  /** This nonce was used before: a captured request sent again. */
  'replayed-request',
  /** A known board with a key the hub does not know: held until `edgepilot device approve`. */
  'approval-required',
] as const;
export type JoinRefusalReason = (typeof joinRefusalReasons)[number];

export const joinResponseSchema = z.discriminatedUnion('ok', [
  z.strictObject({
    ok: z.literal(true),
    deviceId: deviceIdSchema,
    /** Per-device broker password; the hub keeps only its hash. */
    password: z.string().min(32).max(128),
    labels: labelsSchema,
    reregistered: z.boolean(),
  }),
  z.strictObject({
    ok: z.literal(false),
    reason: z.enum(joinRefusalReasons),
    message: z.string().max(500),
  }),
]);
export type JoinResponse = z.infer<typeof joinResponseSchema>;
