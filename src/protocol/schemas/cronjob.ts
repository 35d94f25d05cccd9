import * as z from 'zod';
import { cronScheduleSchema } from '../schedule/cron-expression.js';
import { missedRunsPolicySchema } from '../schedule/cron-ledger.js';
import { timeZoneSchema } from '../schedule/zoned-time.js';
import { labelSelectorSchema, tolerationSchema } from './placement.js';
import { jobRunSpecManifestSchema, jobRunSpecSchema } from './job.js';
import { API_VERSION, metadataSchema } from './workload.js';

/**
 * `kind: CronJob`: a Job template run on a schedule by every matching device, on the device's own clock.
 * The agent keeps the schedule and a durable ledger, so it fires without the hub and knows, after a power
 * loss, which slots it missed (`missedRuns` decides: Skip, or RunOnce for the newest one).
 */
export const concurrencyPolicySchema = z.enum(['Allow', 'Forbid', 'Replace']);
export type ConcurrencyPolicy = z.infer<typeof concurrencyPolicySchema>;

/** What an agent needs to run a CronJob: carried in the manifest and in the device's desired document. */
const cronJobRunFields = {
  /** Five or six fields (seconds first), as node-cron takes them. */
  schedule: cronScheduleSchema,
  timeZone: timeZoneSchema.default('UTC'),
  concurrencyPolicy: concurrencyPolicySchema.default('Allow'),
  startingDeadlineSeconds: z.number().int().min(1).optional(),
  suspend: z.boolean().default(false),
  successfulJobsHistoryLimit: z.number().int().min(0).max(100).default(3),
  failedJobsHistoryLimit: z.number().int().min(0).max(100).default(1),
  missedRuns: missedRunsPolicySchema.default('Skip'),
};
export const cronJobRunSpecSchema = z.strictObject({ ...cronJobRunFields, jobTemplate: jobRunSpecSchema });
export type CronJobRunSpec = z.infer<typeof cronJobRunSpecSchema>;

const cronJobPlacementFields = {
  selector: labelSelectorSchema.default({ matchLabels: {}, matchExpressions: [] }),
  tolerations: z.array(tolerationSchema).max(32).default([]),
};
/** Stored form (canonical units). */
export const cronJobSpecSchema = z.strictObject({ ...cronJobRunSpecSchema.shape, ...cronJobPlacementFields });
export type CronJobSpec = z.infer<typeof cronJobSpecSchema>;
/** As users write it. */
export const cronJobSpecManifestSchema = z.strictObject({ ...cronJobRunFields, jobTemplate: jobRunSpecManifestSchema, ...cronJobPlacementFields });

export const cronJobManifestSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('CronJob'),
  metadata: metadataSchema,
  spec: cronJobSpecManifestSchema,
});
export type CronJobManifest = z.infer<typeof cronJobManifestSchema>;
