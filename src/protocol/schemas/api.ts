import * as z from 'zod';
import { hubEndpointSchema } from './hubs.js';
import { isoTimeSchema, labelKeySchema, labelsSchema } from './common.js';
import { factsSchema } from './facts.js';
import { eventSchema } from './events.js';
import { taintSchema } from './placement.js';

/** Shapes of the hub's HTTP API (`/v1/...`), shared by the hub and the CLI. */

export const deviceViewSchema = z.object({
  id: z.string(),
  hostname: z.string(),
  hardwareId: z.string(),
  labels: labelsSchema,
  taints: z.array(taintSchema),
  unschedulable: z.boolean(),
  draining: z.boolean().default(false),
  registeredAt: isoTimeSchema,
  state: z.enum(['online', 'offline', 'unknown']),
  stateSince: isoTimeSchema.optional(),
  lastSeen: isoTimeSchema.optional(),
  agentVersion: z.string().optional(),
  bootId: z.string().optional(),
  facts: factsSchema.optional(),
  /** A join for this board with an unknown key, held for `edgepilot device approve`. */
  pendingRejoin: z
    .object({ keyFingerprint: z.string(), hostname: z.string(), tokenId: z.string(), requestedAt: isoTimeSchema, approved: z.boolean() })
    .optional(),
});
export type DeviceView = z.infer<typeof deviceViewSchema>;

export const deviceDetailSchema = deviceViewSchema.extend({ events: z.array(eventSchema) });
export type DeviceDetail = z.infer<typeof deviceDetailSchema>;

export const listSchema = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });

export const watchEventSchema = <T extends z.ZodType>(item: T) =>
  z.object({ type: z.enum(['ADDED', 'MODIFIED', 'DELETED']), object: item });

export const labelPatchSchema = z.strictObject({
  set: labelsSchema.default({}),
  remove: z.array(labelKeySchema).default([]),
});
export type LabelPatch = z.infer<typeof labelPatchSchema>;

/** Bounds of a join token, shared so the CLI can name its own flags when a value is out of them. */
export const tokenLimits = { minTtlSeconds: 60, maxTtlSeconds: 365 * 24 * 3600, maxUses: 1_000_000 } as const;

export const tokenCreateSchema = z.strictObject({
  ttlSeconds: z.number().int().min(tokenLimits.minTtlSeconds).max(tokenLimits.maxTtlSeconds).default(24 * 3600),
  labels: labelsSchema.default({}),
  maxUses: z.number().int().min(1).max(tokenLimits.maxUses).optional(),
  description: z.string().max(200).default(''),
});
export type TokenCreate = z.infer<typeof tokenCreateSchema>;

export const tokenViewSchema = z.object({
  id: z.string(),
  description: z.string(),
  labels: labelsSchema,
  createdAt: isoTimeSchema,
  expiresAt: isoTimeSchema,
  maxUses: z.number().int().optional(),
  uses: z.number().int(),
  revoked: z.boolean(),
  state: z.enum(['valid', 'expired', 'exhausted', 'revoked']),
});
export type TokenView = z.infer<typeof tokenViewSchema>;

/** Returned once, on creation: the secret is never shown again. */
export const tokenCreatedSchema = tokenViewSchema.extend({ token: z.string() });
export type TokenCreated = z.infer<typeof tokenCreatedSchema>;

/** Public, unauthenticated: how an agent reaches this hub's broker. */
export const bootstrapSchema = z.object({
  hubVersion: z.string(),
  protocol: z.string(),
  brokerUrl: z.string(),
  /**
   * Several hubs: every live one (this one first), so an agent can move to another when its hub
   * is gone. Absent from a hub that is alone (and from hubs before issue 15).
   */
  hubs: z.array(hubEndpointSchema).max(64).optional(),
});
export type Bootstrap = z.infer<typeof bootstrapSchema>;

export const apiErrorSchema = z.object({ error: z.string(), message: z.string() });
export type ApiError = z.infer<typeof apiErrorSchema>;
