import {
  dueRuns,
  parseCron,
  recordDueRuns,
  recordRunFinished,
  type CronSchedule,
  type DesiredCronJob,
  type DueRuns,
  type JobRunRecord,
} from '../../protocol/index.js';
import { STOP_REPLACED, type AttemptReport, type ExecutionOutcome } from './job-execution.js';
import type { JobStateFile } from './job-state.js';
import { attemptRecord, notRunRecord, startRecord } from './run-records.js';
import { errorMessage } from '../../common/errors.js';

/**
 * The device's CronJob scheduler. node-cron is the project's ticker, and only that: one node-cron task
 * fires every second and this class asks the ledger ({@link dueRuns}) whenever a CronJob's next slot has
 * come. Why not one node-cron task per CronJob, firing the job itself? Because node-cron decides DST gaps
 * and repeats its own way (it may fire twice in a repeated hour or not at all in a skipped one), keeps no
 * state across restarts and never replays a missed slot; the protocol's ledger decides all of that from
 * durable state, the same way on every device and in the hub's NEXT RUN column. A tick that comes late
 * (event loop busy, machine suspended) loses nothing: the ledger sees the unmet slot and decides.
 *
 * Concurrency (per CronJob): Allow starts the slot beside a running one; Forbid records the slot as
 * `forbidden-by-concurrency` and does not run it; Replace stops the running one (recorded `replaced`),
 * waits until it has ended, then starts the new one.
 *
 * The ledger is written before a run starts and after it ends: a run cut short by an agent restart is
 * found `started` on the next start and recorded as failed ("interrupted"), never run twice.
 */
/**
 * How late a slot may be seen and still count as on time. The ticker fires every second, so a slot seen
 * later than this was not missed by a slow tick but by an agent that was not running (or a machine that
 * was suspended): it is a missed slot, and missedRuns decides. The ledger's own default (60 s) suits a
 * per-minute ticker; with it, a two-second CronJob would never see a miss.
 */
export const TICK_GRACE_SECONDS = 3;

export type Ticker = (onTick: () => void) => () => void;

export interface CronSchedulerDeps {
  state: JobStateFile;
  record(records: JobRunRecord[]): Promise<void>;
  execute(
    cron: DesiredCronJob,
    slot: { scheduledAt: number; trigger: 'scheduled' | 'catch-up' | 'manual' },
    signal: AbortSignal,
    onAttempt: (report: AttemptReport) => Promise<void>,
    onStarted: (index: number, attempt: number, startedAt: number) => void,
  ): Promise<ExecutionOutcome>;
  now(): number;
  ticker: Ticker;
  log: { info(m: string): void; warn(m: string): void; error(m: string): void };
}

interface Entry {
  cron: DesiredCronJob;
  schedule: CronSchedule;
  /** When to ask the ledger next; undefined: at the next tick. */
  nextDueAt?: number;
  runs: Map<number, { abort: AbortController; done: Promise<void> }>;
}

export class CronScheduler {
  private readonly entries = new Map<string, Entry>();
  private stopTicker: (() => void) | undefined;
  private current: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly deps: CronSchedulerDeps) {}

  /** Records runs an agent restart cut short; ticking starts with the first CronJob (setCronJobs). */
  async start(): Promise<void> {
    const now = this.deps.now();
    for (const [name, ledger] of Object.entries(this.deps.state.snapshot.cron)) {
      const cut = ledger.history.filter((r) => r.status === 'started');
      if (cut.length === 0) continue;
      let next = ledger;
      for (const run of cut) next = recordRunFinished(next, run.scheduledAt, { status: 'failed', finishedAt: now, message: 'interrupted: the agent stopped during the run' });
      await this.deps.state.setLedger(name, next);
      await this.deps.record(
        cut.map((run) => notRunRecord({ kind: 'CronJob', name }, `c:${name}:${run.scheduledAt}:interrupted`, 'failed', now, 'interrupted: the agent stopped during the run', run.scheduledAt)),
      );
    }
  }

  /**
   * Ticks only while there are CronJobs: node-cron formats the time with Intl in the device's zone on
   * every tick, and ICU's time-zone data alone is ~7 MB of RSS, which an agent without CronJobs need
   * not hold (issue 11, a lean agent).
   */
  private tickWhileScheduled(): void {
    if (this.entries.size > 0 && !this.stopTicker && !this.stopped) this.stopTicker = this.deps.ticker(() => void this.tick());
    else if (this.entries.size === 0 && this.stopTicker) {
      this.stopTicker();
      this.stopTicker = undefined;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTicker?.();
    this.stopTicker = undefined;
    const waits: Promise<void>[] = [];
    for (const entry of this.entries.values()) {
      for (const run of entry.runs.values()) {
        run.abort.abort('agent stopping');
        waits.push(run.done);
      }
    }
    await Promise.all(waits);
  }

  /** The CronJobs of the latest desired document. Removed ones stop scheduling; running runs finish. */
  async setCronJobs(list: readonly DesiredCronJob[]): Promise<void> {
    const names = new Set(list.map((c) => c.name));
    for (const [name, entry] of this.entries) {
      if (names.has(name)) continue;
      this.entries.delete(name);
      if (entry.runs.size === 0) await this.deps.state.forgetCronJob(name);
      this.deps.log.info(`cronjob ${name} removed: no further slots`);
    }
    for (const cron of list) {
      const existing = this.entries.get(cron.name);
      if (existing && existing.cron.revision === cron.revision) continue;
      let schedule: CronSchedule;
      try {
        schedule = parseCron(cron.spec.schedule);
      } catch (err) {
        this.deps.log.error(`cronjob ${cron.name}: ${errorMessage(err)}`);
        continue;
      }
      // A changed schedule is asked about at the next tick; the ledger (last scheduled time) carries over.
      this.entries.set(cron.name, { cron, schedule, runs: existing?.runs ?? new Map() });
    }
    this.tickWhileScheduled();
    void this.tick();
  }

  /** How many runs of a CronJob are going now. */
  active(name: string): number {
    return this.entries.get(name)?.runs.size ?? 0;
  }

  /**
   * One tick: every CronJob whose next slot has come asks the ledger. Ticks never overlap: a tick during
   * one queues one more (not one per second of a slow evaluation), and resolves when that one is done.
   */
  tick(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.current) {
      this.queued ??= this.current.then(() => {
        this.queued = undefined;
        return this.tick();
      });
      return this.queued;
    }
    this.current = this.evaluateDue().finally(() => {
      this.current = undefined;
    });
    return this.current;
  }

  private async evaluateDue(): Promise<void> {
    const now = this.deps.now();
    for (const entry of [...this.entries.values()]) {
      if (entry.cron.spec.suspend) continue;
      if (entry.nextDueAt !== undefined && now < entry.nextDueAt) continue;
      await this.evaluate(entry, now).catch((err: unknown) => this.deps.log.error(`cronjob ${entry.cron.name}: ${errorMessage(err)}`));
    }
  }

  private async evaluate(entry: Entry, now: number): Promise<void> {
    const { cron } = entry;
    const name = cron.name;
    const ledger = this.deps.state.ledger(name);
    const decision = dueRuns(ledger, entry.schedule, cron.spec.timeZone, now, {
      missedRuns: cron.spec.missedRuns,
      graceSeconds: TICK_GRACE_SECONDS,
      ...(cron.spec.startingDeadlineSeconds !== undefined ? { startingDeadlineSeconds: cron.spec.startingDeadlineSeconds } : {}),
    });
    entry.nextDueAt = decision.nextScheduledAt ?? Number.POSITIVE_INFINITY;
    if (decision.clockBehind) this.deps.log.warn(`cronjob ${name}: the clock is behind the last scheduled slot; nothing runs until it passes it`);
    const records: JobRunRecord[] = [];
    let toRun: DueRuns['run'] = decision.run;
    let forbidden: JobRunRecord | undefined;
    if (toRun && entry.runs.size > 0) {
      if (cron.spec.concurrencyPolicy === 'Forbid') {
        const message = `skipped: ${entry.runs.size} run(s) still going (concurrencyPolicy: Forbid)`;
        forbidden = notRunRecord({ kind: 'CronJob', name }, `c:${name}:${toRun.scheduledAt}:forbidden`, 'forbidden-by-concurrency', now, message, toRun.scheduledAt);
        toRun = undefined;
      } else if (cron.spec.concurrencyPolicy === 'Replace') {
        const old = [...entry.runs.values()];
        for (const run of old) run.abort.abort(STOP_REPLACED);
        await Promise.all(old.map((run) => run.done));
      }
    }
    const missed = decision.skipped.length + decision.skippedBeyondCap;
    const newestMissed = decision.skipped.at(-1) ?? decision.newestBeyondCap;
    if (missed > 0 && newestMissed !== undefined) {
      const first = decision.skipped[0] ?? newestMissed;
      const what = missed === 1 ? `slot ${new Date(newestMissed).toISOString()} was missed` : `${missed} slots missed, ${new Date(first).toISOString()} … ${new Date(newestMissed).toISOString()}`;
      const policy =
        toRun?.trigger === 'catch-up'
          ? 'the newest runs as a catch-up (missedRuns: RunOnce)'
          : decision.run?.trigger === 'catch-up'
            ? 'the newest was due as a catch-up, but a run is still going (concurrencyPolicy: Forbid)'
            : `not run (missedRuns: ${cron.spec.missedRuns})`;
      records.push(notRunRecord({ kind: 'CronJob', name }, `c:${name}:${newestMissed}:missed`, 'skipped-missed', now, `${what}; ${policy}`, newestMissed));
    }
    if (forbidden) records.push(forbidden);
    const { run: _dropped, ...withoutRun } = decision;
    // Read again: a replaced run recorded its end in the ledger while we waited for it.
    await this.deps.state.setLedger(name, recordDueRuns(this.deps.state.ledger(name), toRun ? decision : withoutRun, now));
    if (records.length > 0) await this.deps.record(records);
    if (toRun) this.launch(entry, toRun);
  }

  private launch(entry: Entry, slot: { scheduledAt: number; trigger: 'scheduled' | 'catch-up' | 'manual' }): void {
    const { cron } = entry;
    const abort = new AbortController();
    const idPrefix = `c:${cron.name}:${slot.scheduledAt}`;
    const onAttempt = (report: AttemptReport): Promise<void> => this.deps.record([attemptRecord({ kind: 'CronJob', name: cron.name }, idPrefix, report, slot)]);
    const owner = { kind: 'CronJob' as const, name: cron.name };
    const onStarted = (index: number, attempt: number, startedAt: number): void =>
      void this.deps.record([startRecord(owner, idPrefix, index, attempt, startedAt, slot)]).catch((err: unknown) => this.deps.log.error(`cronjob ${cron.name}: ${errorMessage(err)}`));
    const done = this.deps
      .execute(cron, slot, abort.signal, onAttempt, onStarted)
      .then(async (outcome) => {
        if (outcome.status === 'interrupted') return; // the next start records it from the ledger
        const ledger = this.deps.state.ledger(cron.name);
        await this.deps.state.setLedger(
          cron.name,
          recordRunFinished(ledger, slot.scheduledAt, {
            status: outcome.status === 'succeeded' ? 'succeeded' : 'failed',
            finishedAt: this.deps.now(),
            ...(outcome.message !== undefined ? { message: outcome.message.slice(0, 500) } : { message: outcome.status }),
          }),
        );
      })
      .catch((err: unknown) => this.deps.log.error(`cronjob ${cron.name} run ${new Date(slot.scheduledAt).toISOString()}: ${errorMessage(err)}`))
      .finally(() => {
        entry.runs.delete(slot.scheduledAt);
        if (!this.entries.has(cron.name) && entry.runs.size === 0) void this.deps.state.forgetCronJob(cron.name);
      });
    entry.runs.set(slot.scheduledAt, { abort, done });
  }
}
