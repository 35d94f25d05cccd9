import { z } from 'zod';
import { deviceIdSchema, labelsSchema } from './common.js';
import { factsSchema } from './facts.js';

/** Join tokens look like kubeadm's: `<id>.<secret>`; the id is public, the secret is not. */
export const JOIN_TOKEN_PATTERN = /^[a-z0-9]{6}\.[A-Za-z0-9_-]{32}$/;

export const joinRequestSchema = z.strictObject({
  token: z.string().regex(JOIN_TOKEN_PATTERN, 'malformed join token'),
  /** Stable per board (machine id, SoC serial): the same board joining again keeps its device id. */
  hardwareId: z.string().min(8).max(128),
  hostname: z.string().min(1).max(253),
  agentVersion: z.string().max(64),
  facts: factsSchema,
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

export const joinRefusalReasons = ['unknown-token', 'expired-token', 'exhausted-token', 'revoked-token', 'invalid-request'] as const;

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
