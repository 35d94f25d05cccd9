import type { CronJobSpec, JobRunRecord, JobSpec, Labels } from '../../protocol/index.js';

/** A Job as applied, with its spec normalised by the protocol schema, and where it was sent. */
export interface JobRecord {
  name: string;
  /** This creation of the Job: a deleted and re-created Job of the same name is a new uid and runs again. */
  uid: string;
  labels: Labels;
  annotations: Record<string, string>;
  spec: JobSpec;
  createdAt: string;
  updatedAt: string;
  /** Devices the Job was given to (placement `scheduled`: one; `everyDevice`: every match so far). */
  assigned: string[];
  /** Why a `scheduled` Job has no device yet. */
  unplaced?: string;
  /** Set when every assigned device has finished (complete or failed); ttlSecondsAfterFinished counts from here. */
  finishedAt?: string;
  /** `create job --from cronjob/<name>`. */
  fromCronJob?: string;
}

export interface CronJobRecord {
  name: string;
  labels: Labels;
  annotations: Record<string, string>;
  spec: CronJobSpec;
  /** Hash of the spec: the agent reschedules when it changes. */
  revision: string;
  createdAt: string;
  updatedAt: string;
}

/** A run record as the hub keeps it: the agent's record and the device it came from. */
export type StoredJobRun = JobRunRecord & { device: string; receivedAt: string };

/** Run history is kept per owner (`Job/<name>` or `CronJob/<name>`), the newest this many. */
export const RUNS_PER_OWNER = 1000;

export const runOwnerKey = (kind: 'Job' | 'CronJob', name: string): string => `${kind}/${name}`;
