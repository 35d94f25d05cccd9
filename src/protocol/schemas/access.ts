import * as z from 'zod';
import { isoTimeSchema, nameSchema } from './common.js';

/**
 * People's access to the API (issue 13). A role is a fixed set of permissions; the hub's route
 * table (src/hub/api/roles/policy.ts) says which permission each route needs.
 */
export const roles = ['admin', 'operator', 'viewer'] as const;
export const roleSchema = z.enum(roles);
export type Role = z.infer<typeof roleSchema>;

/** read: look at the fleet; operate: change workloads, rollouts, jobs, firmware, scheduling; admin: people, tokens, keys, devices' identity. */
export const permissions = ['read', 'operate', 'admin'] as const;
export type Permission = (typeof permissions)[number];

/** What each role may do; admin holds every permission, also for routes the table does not name yet. */
export const rolePermissions: Readonly<Record<Role, readonly Permission[]>> = {
  admin: ['read', 'operate', 'admin'],
  operator: ['read', 'operate'],
  viewer: ['read'],
};

/** The prefix of a person's API token: `epu_<name>_<secret>`; the name lets the hub find its hash. */
export const API_TOKEN_PREFIX = 'epu_';

export const apiTokenLimits = { minTtlSeconds: 60, maxTtlSeconds: 3 * 365 * 24 * 3600 } as const;

export const apiTokenCreateSchema = z.strictObject({
  name: nameSchema,
  role: roleSchema,
  /** Absent: valid until revoked. */
  ttlSeconds: z.number().int().min(apiTokenLimits.minTtlSeconds).max(apiTokenLimits.maxTtlSeconds).optional(),
  description: z.string().max(200).default(''),
});
export type ApiTokenCreate = z.infer<typeof apiTokenCreateSchema>;

export const apiTokenViewSchema = z.object({
  name: z.string(),
  role: roleSchema,
  description: z.string(),
  createdAt: isoTimeSchema,
  createdBy: z.string(),
  expiresAt: isoTimeSchema.optional(),
  revokedAt: isoTimeSchema.optional(),
  state: z.enum(['valid', 'expired', 'revoked']),
});
export type ApiTokenView = z.infer<typeof apiTokenViewSchema>;

/** Returned once, on creation: only the hash is stored. */
export const apiTokenCreatedSchema = apiTokenViewSchema.extend({ token: z.string() });
export type ApiTokenCreated = z.infer<typeof apiTokenCreatedSchema>;

/** One write through the API: who, what, when, and how it ended. */
export const auditEntrySchema = z.object({
  time: isoTimeSchema,
  /** The token's name (`admin` for the bootstrap admin token). */
  who: z.string(),
  role: roleSchema,
  method: z.string(),
  /** The route as registered, e.g. `/v1/workloads/:name`; the requested path when no route matched. */
  route: z.string(),
  /** The object the write named: its path parameters (`name=web`), or the applied documents. */
  object: z.string(),
  status: z.number().int(),
  source: z.string(),
  /** The hub that answered, where several hubs share one audit log (absent with one hub). */
  hub: z.string().optional(),
});
export type AuditEntry = z.infer<typeof auditEntrySchema>;

export const auditQuerySchema = z.strictObject({
  who: z.string().max(63).optional(),
  since: isoTimeSchema.optional(),
  limit: z.coerce.number().int().min(1).max(10_000).default(500),
});
export type AuditQuery = z.infer<typeof auditQuerySchema>;

/** `GET /v1/whoami`: whose token a request carries and its role (the dashboard offers only what the role may do). */
export const whoamiSchema = z.object({ name: z.string(), role: roleSchema });
export type Whoami = z.infer<typeof whoamiSchema>;
