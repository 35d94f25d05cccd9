import type { JobRunSpec, RunEndReason } from '../../protocol/index.js';
import type { AttemptResult, RunAttempt } from './attempt.js';
import { backoffExhausted, classifyExit, indexesToStart, retryDelayMs } from './job-decisions.js';

/**
 * One Job execution on this device: `completions` successful attempts, `parallelism` at a time, failed
 * attempts retried after Kubernetes' back-off until `backoffLimit` counted failures, an exit-code policy,
 * and a deadline that ends every attempt still running. Used for a Job and for each run of a CronJob.
 *
 * Why an attempt was stopped from outside is the abort reason of `signal`: {@link STOP_REPLACED} (a
 * CronJob's Replace policy: recorded as `replaced`) or anything else (the agent is stopping: nothing is
 * recorded, the durable state says the run was interrupted).
 */
export const STOP_REPLACED = 'replaced';
/** Abort reason of a Job suspended at the hub: running attempts are recorded `suspended` (not counted). */
export const STOP_SUSPENDED = 'suspended';

export interface ExecutionPlan {
  owner: string;
  ownerKind?: 'Job' | 'CronJob';
  /** Runtime instance ids are `<prefix>-<index>-<attempt>`: lowercase, unique per attempt. */
  instancePrefix: string;
  spec: JobRunSpec;
  deadlineAt?: number;
  /** Completion indexes already done (a Job resumed after an agent restart). */
  done?: readonly number[];
  failures?: number;
  /** Attempts made so far per completion index (a resumed Job numbers its next attempts after them). */
  attempts?: Readonly<Record<string, number>>;
  /** An attempt started (the runtime runs it): the caller sends a start notice. */
  onStarted?: (index: number, attempt: number, startedAt: number) => void;
}

export interface AttemptReport {
  index: number;
  attempt: number;
  result: AttemptResult;
  reason: RunEndReason;
  message?: string;
  /** A failure held against backoffLimit (not one the exit-code policy ignores). */
  counted?: boolean;
}

export interface ExecutionOutcome {
  status: 'succeeded' | 'failed' | 'deadline' | 'replaced' | 'suspended' | 'interrupted';
  succeeded: number;
  failures: number;
  message?: string;
}

export interface ExecutionDeps {
  attempt: RunAttempt;
  now(): number;
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  backoffBaseMs: number;
}

export async function executeJob(
  plan: ExecutionPlan,
  deps: ExecutionDeps,
  signal: AbortSignal,
  onAttempt: (report: AttemptReport) => Promise<void>,
): Promise<ExecutionOutcome> {
  const { spec } = plan;
  const succeeded = new Set(plan.done ?? []);
  const running = new Map<number, Promise<{ index: number; attempt: number; result: AttemptResult }>>();
  const waiting = new Map<number, number>();
  const attempts = new Map<number, number>(Object.entries(plan.attempts ?? {}).map(([index, n]) => [Number(index), n]));
  let failures = plan.failures ?? 0;
  let failure: { status: 'failed' | 'deadline'; message: string } | undefined;
  const inner = new AbortController();
  const onOuterAbort = (): void => inner.abort(signal.reason);
  signal.addEventListener('abort', onOuterAbort, { once: true });

  const start = (index: number): void => {
    const attempt = (attempts.get(index) ?? 0) + 1;
    attempts.set(index, attempt);
    const id = `${plan.instancePrefix}-${index}-${attempt}`;
    const onStarted = plan.onStarted;
    const request = {
      id,
      owner: plan.owner,
      ...(plan.ownerKind ? { ownerKind: plan.ownerKind } : {}),
      template: spec.template,
      signal: inner.signal,
      ...(plan.deadlineAt !== undefined ? { deadlineAt: plan.deadlineAt } : {}),
      ...(onStarted ? { onStarted: (at: number) => onStarted(index, attempt, at) } : {}),
    };
    running.set(index, deps.attempt(request).then((result) => ({ index, attempt, result })));
  };

  try {
    while (succeeded.size < spec.completions && failure === undefined && !signal.aborted) {
      const now = deps.now();
      if (plan.deadlineAt !== undefined && now >= plan.deadlineAt) {
        failure = { status: 'deadline', message: `activeDeadlineSeconds (${spec.activeDeadlineSeconds ?? '?'} s) passed` };
        break;
      }
      for (const [index, until] of waiting) if (until <= now) waiting.delete(index);
      const runningIndexes = new Set(running.keys());
      for (const index of indexesToStart({ completions: spec.completions, parallelism: spec.parallelism, succeeded, running: runningIndexes, waiting: new Set(waiting.keys()) })) start(index);
      if (running.size === 0 && waiting.size === 0) break;
      const wakeAt = Math.min(...waiting.values(), plan.deadlineAt ?? Number.POSITIVE_INFINITY);
      const sleeper = new AbortController();
      const timer = Number.isFinite(wakeAt) ? deps.sleep(Math.max(0, wakeAt - now), sleeper.signal).then(() => undefined) : new Promise<undefined>(() => undefined);
      const next = await Promise.race([...running.values(), timer]);
      sleeper.abort();
      if (next === undefined) continue;
      running.delete(next.index);
      const { result } = next;
      if (result.ended === 'aborted') {
        if (signal.aborted && signal.reason === STOP_REPLACED) await onAttempt({ index: next.index, attempt: next.attempt, result, reason: 'replaced', message: 'stopped: a newer run replaced it (concurrencyPolicy: Replace)' });
        if (signal.aborted && signal.reason === STOP_SUSPENDED) await onAttempt({ index: next.index, attempt: next.attempt, result, reason: 'suspended', message: 'stopped: the Job was suspended' });
        continue;
      }
      if (result.ended === 'deadline') {
        await onAttempt({ index: next.index, attempt: next.attempt, result, reason: 'deadline', message: `killed: activeDeadlineSeconds (${spec.activeDeadlineSeconds ?? '?'} s) passed` });
        failure = { status: 'deadline', message: `activeDeadlineSeconds (${spec.activeDeadlineSeconds ?? '?'} s) passed` };
        break;
      }
      const verdict = classifyExit(result.exitCode, spec.exitCodePolicy);
      if (verdict.kind === 'succeeded') {
        succeeded.add(next.index);
        await onAttempt({ index: next.index, attempt: next.attempt, result, reason: 'completed' });
        continue;
      }
      if (verdict.kind === 'fail-job') {
        await onAttempt({ index: next.index, attempt: next.attempt, result, reason: 'failed', message: `exit code ${verdict.exitCode} is listed as FailJob` });
        failure = { status: 'failed', message: `exit code ${verdict.exitCode} is listed as FailJob` };
        break;
      }
      if (verdict.counts) failures += 1;
      const exhausted = backoffExhausted(failures, spec.backoffLimit);
      const why = result.message ?? (result.exitCode !== undefined ? `exit code ${result.exitCode}` : `ended by signal ${result.signal ?? 'unknown'}`);
      await onAttempt({ index: next.index, attempt: next.attempt, result, reason: 'failed', counted: verdict.counts, message: verdict.counts ? `${why} (failure ${failures} of backoffLimit ${spec.backoffLimit})` : `${why} (ignored by exitCodePolicy)` });
      if (exhausted) {
        failure = { status: 'failed', message: `backoffLimit ${spec.backoffLimit} exceeded after ${failures} failures` };
        break;
      }
      waiting.set(next.index, deps.now() + (verdict.counts ? retryDelayMs(failures, deps.backoffBaseMs) : 0));
    }
  } finally {
    signal.removeEventListener('abort', onOuterAbort);
  }
  // Attempts still running when the Job failed, hit its deadline or was stopped from outside.
  if (running.size > 0) {
    if (!inner.signal.aborted) inner.abort(failure?.status ?? 'stopping');
    for (const rest of await Promise.all(running.values())) {
      if (signal.aborted && signal.reason === STOP_SUSPENDED) {
        await onAttempt({ index: rest.index, attempt: rest.attempt, result: rest.result, reason: 'suspended', message: 'stopped: the Job was suspended' });
        continue;
      }
      if (signal.aborted && signal.reason !== STOP_REPLACED) continue;
      const reason: RunEndReason = signal.aborted ? 'replaced' : failure?.status === 'deadline' ? 'deadline' : 'failed';
      await onAttempt({ index: rest.index, attempt: rest.attempt, result: rest.result, reason, message: `stopped: ${failure?.message ?? 'a newer run replaced it (concurrencyPolicy: Replace)'}` });
    }
  }
  if (failure) return { status: failure.status, succeeded: succeeded.size, failures, message: failure.message };
  if (signal.aborted) return { status: signal.reason === STOP_REPLACED ? 'replaced' : signal.reason === STOP_SUSPENDED ? 'suspended' : 'interrupted', succeeded: succeeded.size, failures };
  return { status: 'succeeded', succeeded: succeeded.size, failures };
}

/** setTimeout as a promise that an AbortSignal cuts short (it resolves, never rejects). */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
