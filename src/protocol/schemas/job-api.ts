import * as z from 'zod';
import { isoTimeSchema, labelsSchema, nameSchema } from './common.js';
import { eventSchema } from './events.js';
import { jobRunRecordSchema, jobSpecSchema } from './job.js';
import { cronJobSpecSchema } from './cronjob.js';

/** API views of Jobs and CronJobs (`/v1/jobs`, `/v1/cronjobs`): what the CLI shows. */

export const storedJobRunSchema = jobRunRecordSchema.extend({ device: z.string(), receivedAt: isoTimeSchema });
export type StoredJobRunView = z.infer<typeof storedJobRunSchema>;

export const deviceJobStatusSchema = z.object({
  device: z.string(),
  state: z.enum(['Pending', 'Running', 'Complete', 'Failed']),
  succeeded: z.number().int(),
  failed: z.number().int(),
  lastExitCode: z.number().int().optional(),
  lastReason: z.string().optional(),
});

export const jobViewSchema = z.object({
  name: nameSchema,
  uid: z.string(),
  labels: labelsSchema,
  spec: jobSpecSchema,
  createdAt: isoTimeSchema,
  finishedAt: isoTimeSchema.optional(),
  fromCronJob: z.string().optional(),
  unplaced: z.string().optional(),
  status: z.object({
    state: z.enum(['Suspended', 'Pending', 'Running', 'Complete', 'Failed']),
    completions: z.string(),
    devices: z.array(deviceJobStatusSchema),
  }),
});
export type JobView = z.infer<typeof jobViewSchema>;

export const jobDetailSchema = jobViewSchema.extend({ runs: z.array(storedJobRunSchema), events: z.array(eventSchema) });
export type JobDetail = z.infer<typeof jobDetailSchema>;

export const cronJobViewSchema = z.object({
  name: nameSchema,
  labels: labelsSchema,
  spec: cronJobSpecSchema,
  revision: z.string(),
  createdAt: isoTimeSchema,
  /** Devices the CronJob is sent to. */
  devices: z.array(z.string()),
  status: z.object({
    lastScheduleTime: isoTimeSchema.optional(),
    lastRun: storedJobRunSchema.optional(),
    /** The next slot by the schedule in its zone (the devices compute the same). */
    nextRun: isoTimeSchema.optional(),
    /** Attempts running now, from the devices' start notices (absent from hubs before this field). */
    active: z.array(storedJobRunSchema).optional(),
    /** Start notices that cannot be running any more (device deleted, or silent past the deadline), with why. */
    unaccounted: z.array(z.object({ run: storedJobRunSchema, why: z.string() })).optional(),
  }),
});
export type CronJobView = z.infer<typeof cronJobViewSchema>;

export const cronJobDetailSchema = cronJobViewSchema.extend({ runs: z.array(storedJobRunSchema), events: z.array(eventSchema) });
export type CronJobDetail = z.infer<typeof cronJobDetailSchema>;

/** `POST /v1/jobs/from-cronjob`: run a CronJob's template now, as a Job on the CronJob's devices. */
export const jobFromCronJobRequestSchema = z.strictObject({ cronJob: nameSchema, name: nameSchema.optional() });
export const suspendRequestSchema = z.strictObject({ suspend: z.boolean() });
export const objectActionSchema = z.object({ kind: z.string(), name: z.string(), action: z.string() });
