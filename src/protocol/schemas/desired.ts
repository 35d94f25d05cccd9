import * as z from 'zod';
import { isoTimeSchema } from './common.js';
import { templateSchema } from './template.js';
import { jobRunSpecSchema } from './job.js';
import { cronJobRunSpecSchema } from './cronjob.js';
import { releaseRefSchema } from './release.js';
import { sha256Schema } from './firmware.js';
import { desiredConfigSchema } from './config-object.js';
import { maintenanceWindowSchema } from '../schedule/maintenance-window.js';

/** One instance the device must run. `revision` is a hash of the template: equal revision, nothing to do. */
export const desiredInstanceSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,120}[a-z0-9])?$/),
  workload: z.string().max(63),
  revision: z.string().regex(/^[a-f0-9]{8,64}$/),
  template: templateSchema,
  /**
   * Set when a rollout pinned this device to a release and the template comes from it: the agent
   * installs a new revision of such an instance only inside the device's maintenance window.
   */
  release: releaseRefSchema.optional(),
  /**
   * Hash of the versions of the ConfigMaps and Secrets this instance reads as env or mounts with
   * `onChange: restart`: when it changes, the agent restarts the instance. Absent: it reads none.
   */
  configRevision: z.string().regex(/^[a-f0-9]{16}$/).optional(),
});
export type DesiredInstance = z.infer<typeof desiredInstanceSchema>;

/**
 * A Job this device must run to completion: `completions` is what this device owes. `uid` names this
 * creation of the Job (a deleted and re-created Job of the same name is a new uid, so it runs again).
 */
export const desiredJobSchema = z.strictObject({
  name: z.string().max(63),
  uid: z.string().regex(/^[a-f0-9]{8,64}$/),
  /** After this instant the device does not start it (the Job's activeDeadlineSeconds from its creation). */
  deadlineAt: isoTimeSchema.optional(),
  /**
   * Suspended at the hub: the device stops its running attempts and starts none, but keeps the Job's
   * progress (completions done, failures counted) to resume from. Absent means not suspended.
   */
  suspend: z.boolean().optional(),
  spec: jobRunSpecSchema,
});
export type DesiredJob = z.infer<typeof desiredJobSchema>;

/** A CronJob the device schedules itself. `revision` changes when the spec does; the ledger stays per name. */
export const desiredCronJobSchema = z.strictObject({
  name: z.string().max(63),
  revision: z.string().regex(/^[a-f0-9]{8,64}$/),
  spec: cronJobRunSpecSchema,
});
export type DesiredCronJob = z.infer<typeof desiredCronJobSchema>;

/**
 * The device's whole desired state, published retained on `ep/v1/d/<id>/desired`.
 * `generation` only grows; an agent that missed messages just applies the latest one.
 */
export const desiredStateSchema = z.strictObject({
  generation: z.number().int().nonnegative(),
  issuedAt: isoTimeSchema,
  instances: z.array(desiredInstanceSchema).max(256),
  /** Absent means none (documents from hubs before Jobs existed). */
  jobs: z.array(desiredJobSchema).max(128).optional(),
  cronJobs: z.array(desiredCronJobSchema).max(128).optional(),
  /**
   * The maintenance windows that apply to this device (selectors already matched by the hub, so
   * they are sent with an empty selector). The agent checks them with `windowState` before
   * installing a release's revision, so a device that lost the hub still keeps to its window.
   */
  maintenanceWindows: z.array(maintenanceWindowSchema).max(32).optional(),
  /**
   * Revisions of a release this device will install once its maintenance window opens: the agent
   * downloads what they need now (images) and installs nothing. Downloads may happen any time.
   */
  prefetch: z.array(desiredInstanceSchema).max(256).optional(),
  /** Firmware images (sha256) a gateway fetches ahead of its window; flashing waits for the window. */
  prefetchFirmware: z.array(sha256Schema).max(16).optional(),
  /**
   * The ConfigMaps and Secrets this device's instances reference, and no others (need to know).
   * Secrets are sealed to this device's key. Absent means none.
   */
  configs: z.array(desiredConfigSchema).max(128).optional(),
});
export type DesiredState = z.infer<typeof desiredStateSchema>;
