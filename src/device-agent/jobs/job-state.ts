import { join } from 'node:path';
import * as z from 'zod';
import { CoalescingWriter, ensureDir, readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import {
  cronLedgerStateSchema,
  desiredCronJobSchema,
  desiredJobSchema,
  jobRunRecordSchema,
  RUN_START_SUFFIX,
  type CronLedgerState,
  type DesiredCronJob,
  type DesiredJob,
  type JobRunRecord,
} from '../../protocol/index.js';
import { errorMessage } from '../../common/errors.js';

/**
 * What the agent keeps about Jobs and CronJobs across restarts and power loss, in one file
 * (`<stateDir>/jobs/state.json`, replaced with writeFileDurably): each CronJob's ledger, each Job's
 * progress, and the outbox of run records not yet acknowledged by the hub. Every change is on disk
 * before the caller goes on (a record is durable before it is sent; a slot is marked before it runs).
 */

/** Records kept unacknowledged at most; a device offline for weeks drops the oldest first. */
export const OUTBOX_LIMIT = 2000;

const jobProgressSchema = z.strictObject({
  name: z.string(),
  status: z.enum(['running', 'succeeded', 'failed', 'deadline']),
  done: z.array(z.number().int().min(0)).default([]),
  failures: z.number().int().min(0).default(0),
  /** Attempts started per completion index: attempt numbers (and record ids) never repeat after a restart or a suspend. */
  attempts: z.record(z.string(), z.number().int().min(0)).default({}),
  finishedAt: z.number().int().optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

const stateSchema = z.strictObject({
  version: z.literal(1),
  cron: z.record(z.string(), cronLedgerStateSchema).default({}),
  jobs: z.record(z.string(), jobProgressSchema).default({}),
  outbox: z.array(jobRunRecordSchema).default([]),
  /** Records dropped from a full outbox (counted so the loss is visible in the agent's log). */
  dropped: z.number().int().min(0).default(0),
  /** The jobs part of the last desired document: what runs after a restart before the hub answers. */
  desired: z.strictObject({ generation: z.number().int().min(0), jobs: z.array(desiredJobSchema), cronJobs: z.array(desiredCronJobSchema) }).optional(),
});
export type JobsState = z.infer<typeof stateSchema>;

export class JobStateFile {
  private state: JobsState = { version: 1, cron: {}, jobs: {}, outbox: [], dropped: 0 };
  private readonly writer: CoalescingWriter;
  private readonly path: string;

  constructor(
    private readonly folder: string,
    private readonly warn: (message: string) => void,
  ) {
    this.path = join(folder, 'state.json');
    this.writer = new CoalescingWriter(() => writeFileDurably(this.path, JSON.stringify(this.state)));
  }

  async load(): Promise<void> {
    await ensureDir(this.folder);
    const text = await readFileIfExists(this.path);
    if (text === undefined) return;
    try {
      this.state = stateSchema.parse(JSON.parse(text));
    } catch (err) {
      // Never silently: a damaged file means ledgers restart from now and unsent records are gone.
      this.warn(`${this.path} is unreadable (${errorMessage(err).slice(0, 200)}); job state starts empty`);
    }
  }

  get snapshot(): Readonly<JobsState> {
    return this.state;
  }

  /** Keeps the latest desired jobs; an older generation (a stale retained message) is refused. */
  async setDesired(generation: number, jobs: DesiredJob[], cronJobs: DesiredCronJob[]): Promise<boolean> {
    if (this.state.desired && generation < this.state.desired.generation) return false;
    this.state.desired = { generation, jobs, cronJobs };
    await this.writer.write();
    return true;
  }

  ledger(name: string): CronLedgerState {
    return this.state.cron[name] ?? { history: [] };
  }

  async setLedger(name: string, ledger: CronLedgerState): Promise<void> {
    this.state.cron[name] = ledger;
    await this.writer.write();
  }

  async forgetCronJob(name: string): Promise<void> {
    delete this.state.cron[name];
    await this.writer.write();
  }

  job(uid: string): JobProgress | undefined {
    return this.state.jobs[uid];
  }

  async setJob(uid: string, progress: JobProgress): Promise<void> {
    this.state.jobs[uid] = progress;
    await this.writer.write();
  }

  /** Progress of Jobs the hub no longer sends is dropped (their records stay in the outbox until acked). */
  async keepJobs(uids: ReadonlySet<string>): Promise<void> {
    const before = Object.keys(this.state.jobs).length;
    for (const uid of Object.keys(this.state.jobs)) if (!uids.has(uid)) delete this.state.jobs[uid];
    if (Object.keys(this.state.jobs).length !== before) await this.writer.write();
  }

  async addRecords(records: readonly JobRunRecord[]): Promise<void> {
    const known = new Set(this.state.outbox.map((r) => r.id));
    // An end record makes its attempt's unsent start notice pointless (the hub would drop it anyway).
    const ended = new Set(records.filter((r) => r.reason !== 'running').map((r) => `${r.id}${RUN_START_SUFFIX}`));
    const outbox = [...this.state.outbox.filter((r) => !ended.has(r.id)), ...records.filter((r) => !known.has(r.id))];
    const over = Math.max(0, outbox.length - OUTBOX_LIMIT);
    this.state.outbox = outbox.slice(over);
    this.state.dropped += over;
    await this.writer.write();
  }

  async acknowledge(ids: readonly string[]): Promise<number> {
    const gone = new Set(ids);
    const before = this.state.outbox.length;
    this.state.outbox = this.state.outbox.filter((r) => !gone.has(r.id));
    const removed = before - this.state.outbox.length;
    if (removed > 0) await this.writer.write();
    return removed;
  }

  async idle(): Promise<void> {
    await this.writer.idle();
  }
}
