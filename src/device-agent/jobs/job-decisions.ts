import type { ExitCodeRule } from '../../protocol/index.js';

/**
 * Pure decisions of a Job run on the device: what an attempt's exit means and how long to wait before
 * the next attempt. No clock, no I/O: the executor asks, the tests ask with fixed numbers.
 */

/** How one finished attempt counts. */
export type AttemptVerdict =
  | { kind: 'succeeded' }
  /** A failure; `counts` false when the exit-code policy says Ignore (not held against backoffLimit). */
  | { kind: 'failed'; counts: boolean }
  /** The exit-code policy says FailJob: the Job fails at once, no retry. */
  | { kind: 'fail-job'; exitCode: number };

/**
 * Exit 0 succeeds. A listed non-zero code does what its rule says (the first rule listing it wins);
 * any other failure counts. An attempt killed by a signal or that never started has no exit code and counts.
 */
export function classifyExit(exitCode: number | undefined, policy: readonly ExitCodeRule[]): AttemptVerdict {
  if (exitCode === 0) return { kind: 'succeeded' };
  if (exitCode === undefined) return { kind: 'failed', counts: true };
  const rule = policy.find((r) => r.exitCodes.includes(exitCode));
  if (rule?.action === 'FailJob') return { kind: 'fail-job', exitCode };
  if (rule?.action === 'Ignore') return { kind: 'failed', counts: false };
  return { kind: 'failed', counts: true };
}

/** Kubernetes' Job back-off: base (10 s) doubling per counted failure, capped at six minutes. */
export const JOB_BACKOFF_CAP_MS = 6 * 60 * 1000;

export function retryDelayMs(countedFailures: number, baseMs: number): number {
  if (countedFailures <= 0) return 0;
  const exponent = Math.min(countedFailures - 1, 30);
  return Math.min(baseMs * 2 ** exponent, JOB_BACKOFF_CAP_MS);
}

/** Has the Job failed for good? More counted failures than backoffLimit allows. */
export function backoffExhausted(countedFailures: number, backoffLimit: number): boolean {
  return countedFailures > backoffLimit;
}

/** The next completion indexes to start: fill up to `parallelism`, never beyond `completions`. */
export function indexesToStart(input: {
  completions: number;
  parallelism: number;
  succeeded: ReadonlySet<number>;
  running: ReadonlySet<number>;
  /** Indexes waiting for their back-off delay: they are not started now, but they hold their place. */
  waiting: ReadonlySet<number>;
}): number[] {
  const free = input.parallelism - input.running.size;
  const out: number[] = [];
  for (let i = 0; i < input.completions && out.length < free; i += 1) {
    if (input.succeeded.has(i) || input.running.has(i) || input.waiting.has(i)) continue;
    out.push(i);
  }
  return out;
}

/** The last `lines` lines of some output, each cut to 1 KiB (the record's bound). */
export function outputTail(lines: readonly string[], count: number): string[] {
  return lines.slice(-count).map((line) => (line.length > 1024 ? `${line.slice(0, 1021)}...` : line));
}
