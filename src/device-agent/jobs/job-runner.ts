import type { DesiredJob, JobRunRecord } from '../../protocol/index.js';
import { STOP_SUSPENDED, type AttemptReport, type ExecutionOutcome, type ExecutionPlan } from './job-execution.js';
import type { JobStateFile } from './job-state.js';
import { attemptRecord, notRunRecord, startRecord } from './run-records.js';
import { errorMessage } from '../../common/errors.js';

/**
 * Runs the Jobs the hub assigned to this device, each once to completion per creation (uid). Progress
 * (completion indexes done, counted failures, final status) is durable: after an agent restart a Job
 * resumes with the completions it still owes, and a finished Job never runs again. A Job that arrives
 * after its deadline (a device offline longer than activeDeadlineSeconds) is not started: it is
 * recorded `deadline` so the hub's status says why. A Job suspended at the hub stops its running attempts
 * (recorded `suspended`, not counted as failures) and keeps its progress: resumed, it owes only the
 * completions still missing and its failures still count toward backoffLimit.
 */
export interface JobRunnerDeps {
  state: JobStateFile;
  record(records: JobRunRecord[]): Promise<void>;
  execute(plan: ExecutionPlan, signal: AbortSignal, onAttempt: (report: AttemptReport) => Promise<void>): Promise<ExecutionOutcome>;
  now(): number;
  log: { info(m: string): void; error(m: string): void };
}

export class JobRunner {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  private stopped = false;
  /** The latest list from the hub: a Job resumed while its suspended attempts were still stopping starts once they have. */
  private latest: readonly DesiredJob[] = [];

  constructor(private readonly deps: JobRunnerDeps) {}

  async setJobs(jobs: readonly DesiredJob[]): Promise<void> {
    this.latest = jobs;
    const uids = new Set(jobs.map((j) => j.uid));
    const suspended = new Set(jobs.filter((j) => j.suspend === true).map((j) => j.uid));
    for (const [uid, run] of this.running) {
      if (!uids.has(uid)) run.abort.abort('removed');
      else if (suspended.has(uid)) run.abort.abort(STOP_SUSPENDED);
    }
    await this.deps.state.keepJobs(uids);
    if (this.stopped) return;
    for (const job of jobs) {
      if (this.running.has(job.uid) || suspended.has(job.uid)) continue;
      const progress = this.deps.state.job(job.uid);
      if (progress && progress.status !== 'running') continue;
      await this.begin(job);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const run of this.running.values()) run.abort.abort('agent stopping');
    await Promise.all([...this.running.values()].map((r) => r.done));
  }

  private async begin(job: DesiredJob): Promise<void> {
    const now = this.deps.now();
    const owner = { kind: 'Job' as const, name: job.name, jobUid: job.uid };
    const progress = this.deps.state.job(job.uid) ?? { name: job.name, status: 'running' as const, done: [], failures: 0, attempts: {} };
    const hubDeadline = job.deadlineAt !== undefined ? Date.parse(job.deadlineAt) : undefined;
    if (hubDeadline !== undefined && now >= hubDeadline) {
      await this.deps.state.setJob(job.uid, { ...progress, status: 'deadline', finishedAt: now });
      await this.deps.record([notRunRecord(owner, `j:${job.uid}:deadline`, 'deadline', now, `not started: activeDeadlineSeconds passed at ${job.deadlineAt ?? '?'} before this device could run it`)]);
      return;
    }
    const ownDeadline = job.spec.activeDeadlineSeconds !== undefined ? now + job.spec.activeDeadlineSeconds * 1000 : undefined;
    const deadlineAt = hubDeadline ?? ownDeadline;
    await this.deps.state.setJob(job.uid, progress);
    const abort = new AbortController();
    const idPrefix = `j:${job.uid}`;
    const plan: ExecutionPlan = {
      owner: job.name,
      ownerKind: 'Job',
      instancePrefix: `j-${job.uid.slice(0, 12)}`,
      spec: job.spec,
      ...(deadlineAt !== undefined ? { deadlineAt } : {}),
      done: progress.done,
      failures: progress.failures,
      attempts: progress.attempts,
      onStarted: (index, attempt, startedAt) => void this.started(job, idPrefix, index, attempt, startedAt),
    };
    const onAttempt = async (report: AttemptReport): Promise<void> => {
      const current = this.deps.state.job(job.uid) ?? progress;
      const done = report.reason === 'completed' ? [...new Set([...current.done, report.index])] : current.done;
      const failures = report.counted === true ? current.failures + 1 : current.failures;
      await this.deps.state.setJob(job.uid, { ...current, done, failures });
      await this.deps.record([attemptRecord(owner, idPrefix, report)]);
    };
    const done = this.deps
      .execute(plan, abort.signal, onAttempt)
      .then(async (outcome) => {
        if (outcome.status === 'interrupted' || outcome.status === 'replaced' || outcome.status === 'suspended') return;
        const current = this.deps.state.job(job.uid) ?? progress;
        const status = outcome.status === 'succeeded' ? 'succeeded' : outcome.status === 'deadline' ? 'deadline' : 'failed';
        await this.deps.state.setJob(job.uid, { ...current, status, failures: outcome.failures, finishedAt: this.deps.now() });
        this.deps.log.info(`job ${job.name}: ${status} (${outcome.succeeded}/${job.spec.completions} completions)${outcome.message ? `: ${outcome.message}` : ''}`);
      })
      .catch((err: unknown) => this.deps.log.error(`job ${job.name}: ${errorMessage(err)}`))
      .finally(() => {
        this.running.delete(job.uid);
        const wanted = this.latest.find((j) => j.uid === job.uid && j.suspend !== true);
        if (wanted && !this.stopped && this.deps.state.job(job.uid)?.status === 'running') void this.begin(wanted).catch((err: unknown) => this.deps.log.error(`job ${job.name}: ${errorMessage(err)}`));
      });
    this.running.set(job.uid, { abort, done });
  }

  /** The attempt number is durable before the start notice goes out: a restart never reuses it. */
  private async started(job: DesiredJob, idPrefix: string, index: number, attempt: number, startedAt: number): Promise<void> {
    try {
      const current = this.deps.state.job(job.uid);
      if (current) await this.deps.state.setJob(job.uid, { ...current, attempts: { ...current.attempts, [String(index)]: Math.max(attempt, current.attempts[String(index)] ?? 0) } });
      await this.deps.record([startRecord({ kind: 'Job', name: job.name, jobUid: job.uid }, idPrefix, index, attempt, startedAt)]);
    } catch (err) {
      this.deps.log.error(`job ${job.name}: ${errorMessage(err)}`);
    }
  }
}
