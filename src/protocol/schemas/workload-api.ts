import * as z from 'zod';
import { isoTimeSchema } from './common.js';
import { eventSchema } from './events.js';
import { reportedInstanceSchema } from './reported.js';
import { workloadSpecSchema } from './workload.js';

/** `POST /v1/apply`: several manifests at once, validated one by one, stored all or nothing. */
export const applyRequestSchema = z.strictObject({ manifests: z.array(z.unknown()).min(1).max(500) });
export type ApplyRequest = z.infer<typeof applyRequestSchema>;

/**
 * `?wait=true` on a write (apply, delete): answer once the placement pass that includes the
 * change has run, not only once the change is durable.
 */
export const writeQuerySchema = z.strictObject({ wait: z.enum(['true', 'false']).optional() });
/** `GET /v1/stats?instances=true`: also count sent instances reported running and ready. */
export const statsQuerySchema = z.strictObject({ instances: z.enum(['true', 'false']).optional() });

export const applyResultSchema = z.object({
  results: z.array(z.object({ kind: z.string(), name: z.string(), action: z.enum(['created', 'configured', 'unchanged']) })),
});
export type ApplyResult = z.infer<typeof applyResultSchema>;

/** One instance as the hub last heard of it from its device. */
export const instanceStatusSchema = reportedInstanceSchema.extend({
  device: z.string(),
  deviceState: z.enum(['online', 'offline', 'unknown']),
  /** Whether the device has applied the generation that contains this instance. */
  applied: z.boolean(),
});
export type InstanceStatus = z.infer<typeof instanceStatusSchema>;

export const workloadViewSchema = z.object({
  name: z.string(),
  labels: z.record(z.string(), z.string()),
  spec: workloadSpecSchema,
  revision: z.string(),
  createdAt: isoTimeSchema,
  updatedAt: isoTimeSchema,
  status: z.object({
    /** Replicas asked for (for `replicas: all`, the number of matching devices). */
    desired: z.number().int(),
    placed: z.number().int(),
    running: z.number().int(),
    ready: z.number().int(),
    /** Why replicas could not be placed, when some could not. */
    unplacedReason: z.string().optional(),
    instances: z.array(instanceStatusSchema),
  }),
});
export type WorkloadView = z.infer<typeof workloadViewSchema>;

export const workloadDetailSchema = workloadViewSchema.extend({ events: z.array(eventSchema) });
export type WorkloadDetail = z.infer<typeof workloadDetailSchema>;
