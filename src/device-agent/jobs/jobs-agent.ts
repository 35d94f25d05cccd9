import { join } from 'node:path';
import { decodePayload, jobRunsAckSchema, payloadLimits, type DesiredState, type JobRunRecord } from '../../protocol/index.js';
import type { InstanceRuntime } from '../runtime/runtime.js';
import { attemptRunner } from './attempt.js';
import { CronScheduler, type Ticker } from './cron-scheduler.js';
import { abortableSleep, executeJob } from './job-execution.js';
import { JobRunner } from './job-runner.js';
import { JobStateFile } from './job-state.js';
import { withPortLock, type PortClaimDeps } from './port-claims.js';
import { RunOutbox } from './run-outbox.js';

/**
 * Jobs and CronJobs on the device, as one part the composition root wires: the durable state file,
 * the outbox towards the hub, the CronJob scheduler and the Job runner, over runtimes of their own
 * (separate from the reconciler's, so the reconciler never sees a Job's instance as a stray to remove).
 */
export interface JobsAgentDeps {
  stateDir: string;
  runtimes: { container?: InstanceRuntime; process: InstanceRuntime };
  now(): number;
  ticker: Ticker;
  /** Publishes run records with QoS 1; false when offline. */
  publishRuns(records: JobRunRecord[]): Promise<boolean>;
  connected(): boolean;
  backoffBaseMs: number;
  resendMs?: number;
  /** The agent's port lock, shared with flashing (absent in tests of other things: no port is locked). */
  ports?: Omit<PortClaimDeps, 'now'>;
  log: { debug(m: string): void; info(m: string): void; warn(m: string): void; error(m: string): void };
}

export class JobsAgent {
  private readonly state: JobStateFile;
  private readonly outbox: RunOutbox;
  private readonly cron: CronScheduler;
  private readonly jobs: JobRunner;
  private started = false;
  private early: DesiredState | undefined;
  private applying: Promise<void> = Promise.resolve();

  constructor(private readonly deps: JobsAgentDeps) {
    this.state = new JobStateFile(join(deps.stateDir, 'jobs'), (m) => deps.log.warn(m));
    this.outbox = new RunOutbox({ state: this.state, publish: deps.publishRuns, connected: deps.connected, resendMs: deps.resendMs ?? 10_000, log: deps.log });
    const runner = attemptRunner(deps.runtimes, deps.now);
    const attempt = deps.ports ? withPortLock(runner, { ...deps.ports, now: deps.now }) : runner;
    const executionDeps = { attempt, now: deps.now, sleep: abortableSleep, backoffBaseMs: deps.backoffBaseMs };
    const record = (records: JobRunRecord[]): Promise<void> => this.outbox.add(records);
    this.cron = new CronScheduler({
      state: this.state,
      record,
      now: deps.now,
      ticker: deps.ticker,
      log: deps.log,
      execute: (cron, slot, signal, onAttempt, onStarted) => {
        const spec = cron.spec.jobTemplate;
        const deadlineAt = spec.activeDeadlineSeconds !== undefined ? deps.now() + spec.activeDeadlineSeconds * 1000 : undefined;
        const plan = {
          owner: cron.name,
          ownerKind: 'CronJob' as const,
          instancePrefix: `c-${cron.name}-${Math.floor(slot.scheduledAt / 1000).toString(36)}`,
          spec,
          ...(deadlineAt !== undefined ? { deadlineAt } : {}),
          onStarted,
        };
        return executeJob(plan, executionDeps, signal, onAttempt);
      },
    });
    this.jobs = new JobRunner({ state: this.state, record, now: deps.now, log: deps.log, execute: (plan, signal, onAttempt) => executeJob(plan, executionDeps, signal, onAttempt) });
  }

  /** Leftover attempts of a previous agent process are stopped and removed (their runs are recorded as interrupted), then the last known jobs run. */
  async start(): Promise<void> {
    await this.state.load();
    for (const runtime of [this.deps.runtimes.process, this.deps.runtimes.container]) {
      if (!runtime) continue;
      for (const leftover of await runtime.list().catch(() => [])) {
        await runtime.stop(leftover.id, leftover.revision, 0, new AbortController().signal).catch(() => undefined);
        await runtime.remove(leftover.id, leftover.revision).catch(() => undefined);
      }
    }
    await this.cron.start();
    const desired = this.state.snapshot.desired;
    if (desired) await this.apply(desired.jobs, desired.cronJobs);
    this.started = true;
    const early = this.early;
    this.early = undefined;
    if (early) await this.applyDesired(early);
    this.outbox.start();
    void this.outbox.flush();
  }

  async stop(): Promise<void> {
    this.outbox.stop();
    await this.cron.stop();
    await this.jobs.stop();
    await this.state.idle();
  }

  /**
   * A new desired document: its jobs part is kept durably and applied (documents without it mean none).
   * One at a time, in arrival order: two documents applied at once could start the same Job twice.
   */
  setDesired(desired: DesiredState): Promise<void> {
    const next = this.applying.then(() => this.applyDesired(desired));
    this.applying = next.catch(() => undefined);
    return next;
  }

  private async applyDesired(desired: DesiredState): Promise<void> {
    if (!this.started) {
      // Before start() has read the state file: keep the newest, start() applies it.
      if (!this.early || desired.generation >= this.early.generation) this.early = desired;
      return;
    }
    const jobs = desired.jobs ?? [];
    const cronJobs = desired.cronJobs ?? [];
    if (!(await this.state.setDesired(desired.generation, jobs, cronJobs))) return;
    await this.apply(jobs, cronJobs);
  }

  /** The hub's acknowledgement on `ep/v1/d/<id>/runs/ack`. */
  async acknowledged(payload: Buffer): Promise<void> {
    const decoded = decodePayload(jobRunsAckSchema, payload, payloadLimits.runsAck);
    if (!decoded.ok) return this.deps.log.warn(`dropped run acknowledgement: ${decoded.error}`);
    await this.outbox.acknowledged(decoded.value.ids);
  }

  connected(): void {
    void this.outbox.flush();
  }

  private async apply(jobs: DesiredState['jobs'] & object, cronJobs: DesiredState['cronJobs'] & object): Promise<void> {
    await this.cron.setCronJobs(cronJobs);
    await this.jobs.setJobs(jobs);
  }
}
