import * as z from 'zod';
import { nameSchema } from './common.js';
import { labelSelectorSchema, tolerationSchema } from './placement.js';
import { templateManifestSchema, templateSchema } from './template.js';
import { API_VERSION, metadataSchema } from './workload.js';

/**
 * `kind: Job`: a Workload template run to completion. Fields keep Kubernetes' meaning (batch/v1 Job);
 * the template is the Workload's own schema, imported, so both change together.
 *
 * Placement:
 * - `scheduled`: the hub's scheduler picks one device for the Job, and that device runs all
 *   `completions`, `parallelism` at a time. One device, because a Job's state (volumes, a serial port)
 *   lives on a device, and an edge device may be offline when a second one would take over.
 * - `everyDevice`: every device matching `selector` runs the Job to completion once (Nomad's sysbatch),
 *   also devices that are offline now, when they return, unless `activeDeadlineSeconds` has passed
 *   since the Job was created.
 */

/** What an exit code means to the Job (a subset of Kubernetes' podFailurePolicy, on exit codes only). */
export const exitCodeRuleSchema = z.strictObject({
  /** FailJob: the Job fails at once, no retry. Ignore: the attempt is not counted against backoffLimit. Count: a normal failure. */
  action: z.enum(['FailJob', 'Ignore', 'Count']),
  exitCodes: z.array(z.number().int().min(1).max(255)).min(1).max(255),
});
export type ExitCodeRule = z.infer<typeof exitCodeRuleSchema>;

/** The run-to-completion part shared by a Job and a CronJob's jobTemplate. */
const jobRunFields = {
  completions: z.number().int().min(1).max(10_000).default(1),
  parallelism: z.number().int().min(1).max(1_000).default(1),
  /** Failed attempts allowed before the Job fails; retries wait 10 s, 20 s, 40 s … capped at 6 min (Kubernetes' delay). */
  backoffLimit: z.number().int().min(0).max(1_000).default(6),
  /** Wall time a run (all attempts of a CronJob run, the whole Job on a device) may take; then it is killed, reason `deadline`. */
  activeDeadlineSeconds: z.number().int().min(1).max(365 * 24 * 3600).optional(),
  /** The hub deletes a finished Job this long after it finished. */
  ttlSecondsAfterFinished: z.number().int().min(0).optional(),
  exitCodePolicy: z.array(exitCodeRuleSchema).max(16).default([]),
};
/** Stored and sent form: the template in canonical units (only validates; parsing twice is a no-op). */
export const jobRunSpecSchema = z.strictObject({ ...jobRunFields, template: templateSchema });
export type JobRunSpec = z.infer<typeof jobRunSpecSchema>;
/** As users write it (`cpu: 500m`): turned into the canonical form once, like a Workload's template. */
export const jobRunSpecManifestSchema = z.strictObject({ ...jobRunFields, template: templateManifestSchema });

export const jobPlacementSchema = z.enum(['scheduled', 'everyDevice']);
export type JobPlacement = z.infer<typeof jobPlacementSchema>;

const jobPlacementFields = {
  suspend: z.boolean().default(false),
  placement: jobPlacementSchema.default('scheduled'),
  selector: labelSelectorSchema.default({ matchLabels: {}, matchExpressions: [] }),
  tolerations: z.array(tolerationSchema).max(32).default([]),
};
export const jobSpecSchema = z.strictObject({ ...jobRunSpecSchema.shape, ...jobPlacementFields });
export type JobSpec = z.infer<typeof jobSpecSchema>;
export const jobSpecManifestSchema = z.strictObject({ ...jobRunSpecManifestSchema.shape, ...jobPlacementFields });

export const jobManifestSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Job'),
  metadata: metadataSchema,
  spec: jobSpecManifestSchema,
});
export type JobManifest = z.infer<typeof jobManifestSchema>;

/** Why a run ended. */
/** `suspended`: an attempt stopped because its Job was suspended; it counts neither as a completion nor as a failure. */
export const runEndReasonSchema = z.enum(['completed', 'failed', 'deadline', 'replaced', 'skipped-missed', 'forbidden-by-concurrency', 'suspended']);
export type RunEndReason = z.infer<typeof runEndReasonSchema>;

/**
 * A record's reason: how the run ended, or `running` for the start notice an agent sends when an attempt
 * starts (so the hub knows what runs where: `get cronjobs` ACTIVE). A start notice's id is the attempt's
 * id plus {@link RUN_START_SUFFIX}; the hub drops it when the attempt's end record (or the slot's
 * `interrupted` record) arrives, and ignores it when that end is already stored.
 */
export const runRecordReasonSchema = z.enum([...runEndReasonSchema.options, 'running']);
export type RunRecordReason = z.infer<typeof runRecordReasonSchema>;
export const RUN_START_SUFFIX = ':start';

export const JOB_RUN_OUTPUT_LINES = 20;
const RUN_ID_PATTERN = /^[A-Za-z0-9._:-]{1,200}$/;

/**
 * One attempt (or one slot not run) of a Job or CronJob on one device, made by the agent. `id` is unique
 * per device and stable, so a record sent twice (no ack seen) is stored once.
 */
export const jobRunRecordSchema = z.strictObject({
  id: z.string().regex(RUN_ID_PATTERN),
  owner: z.strictObject({ kind: z.enum(['Job', 'CronJob']), name: nameSchema }),
  /** The Job's uid (its creation), so runs of a deleted and re-created Job are told apart. */
  jobUid: z.string().max(64).optional(),
  /** CronJob slot (ISO time); absent for plain Jobs. */
  scheduledAt: z.iso.datetime({ offset: true }).optional(),
  trigger: z.enum(['scheduled', 'catch-up', 'manual']).optional(),
  /** Index of this completion slot within the Job (0-based) and attempt number within it (1-based). */
  completionIndex: z.number().int().min(0).optional(),
  attempt: z.number().int().min(0).default(0),
  startedAt: z.iso.datetime({ offset: true }).optional(),
  /** Absent only on a start notice (`reason: running`). */
  finishedAt: z.iso.datetime({ offset: true }).optional(),
  exitCode: z.number().int().optional(),
  signal: z.string().max(16).optional(),
  durationMs: z.number().int().min(0).optional(),
  output: z.array(z.string().max(1024)).max(JOB_RUN_OUTPUT_LINES).default([]),
  reason: runRecordReasonSchema,
  message: z.string().max(512).optional(),
});
export type JobRunRecord = z.infer<typeof jobRunRecordSchema>;

export const JOB_RUNS_PER_MESSAGE = 50;

/** Agent → hub on `ep/v1/d/<id>/runs` (QoS 1, not retained). */
export const jobRunsMessageSchema = z.strictObject({ records: z.array(jobRunRecordSchema).min(1).max(JOB_RUNS_PER_MESSAGE) });
export type JobRunsMessage = z.infer<typeof jobRunsMessageSchema>;

/**
 * Hub → agent on `ep/v1/d/<id>/runs/ack` (QoS 1), sent after the records are in the hub's store. Only then
 * does the agent drop them from its outbox: a PUBACK says the broker has them, not that the hub stored them.
 */
export const jobRunsAckSchema = z.strictObject({ ids: z.array(z.string().regex(RUN_ID_PATTERN)).max(JOB_RUNS_PER_MESSAGE) });
export type JobRunsAck = z.infer<typeof jobRunsAckSchema>;
