import * as z from 'zod';
import { isoTimeSchema } from './common.js';

/** A hub's name among several (--hub-id): a DNS label, so it fits in logs, keys and URLs. */
export const HUB_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const hubIdSchema = z.string().regex(HUB_ID_PATTERN, 'a hub id is 1-63 lower-case letters, digits and dashes');

/** Where an agent finds one hub: its API and its broker. */
export const hubEndpointSchema = z.object({
  id: hubIdSchema,
  apiUrl: z.string().max(512),
  brokerUrl: z.string().max(512),
});
export type HubEndpoint = z.infer<typeof hubEndpointSchema>;

/**
 * One live hub as `GET /v1/hubs` lists it (and as it announces itself in Redis): whether it leads
 * (runs the controllers), whether it is degraded and why, and its load.
 */
export const hubViewSchema = hubEndpointSchema.extend({
  leading: z.boolean(),
  state: z.enum(['ok', 'degraded']),
  reason: z.string().max(500).optional(),
  /** MQTT sessions on this hub's embedded broker (devices, join sessions, the hub's own). */
  connections: z.number().int().nonnegative(),
  /** One-minute load average of its machine, and the CPUs it has (the load means nothing without). */
  load1: z.number().nonnegative(),
  cpus: z.number().int().positive(),
  /** CPU time this hub process used over the last heartbeat interval, as a share of one CPU. */
  cpu: z.number().nonnegative(),
  startedAt: isoTimeSchema,
  heartbeatAt: isoTimeSchema,
});
export type HubView = z.infer<typeof hubViewSchema>;
