import { RUN_START_SUFFIX, type JobRunRecord, type RunEndReason } from '../../protocol/index.js';
import type { AttemptReport } from './job-execution.js';

/** Run records as the hub receives them, built from what an attempt reported. */

const iso = (ms: number): string => new Date(ms).toISOString();

export function attemptRecord(
  owner: { kind: 'Job' | 'CronJob'; name: string; jobUid?: string },
  idPrefix: string,
  report: AttemptReport,
  slot?: { scheduledAt: number; trigger: 'scheduled' | 'catch-up' | 'manual' },
): JobRunRecord {
  const { result } = report;
  return {
    id: `${idPrefix}:${report.index}:${report.attempt}`,
    owner: { kind: owner.kind, name: owner.name },
    ...(owner.jobUid !== undefined ? { jobUid: owner.jobUid } : {}),
    ...(slot ? { scheduledAt: iso(slot.scheduledAt), trigger: slot.trigger } : {}),
    completionIndex: report.index,
    attempt: report.attempt,
    startedAt: iso(result.startedAt),
    finishedAt: iso(result.finishedAt),
    ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
    ...(result.signal !== undefined ? { signal: result.signal } : {}),
    durationMs: Math.max(0, result.finishedAt - result.startedAt),
    output: result.output,
    reason: report.reason,
    ...(report.message !== undefined ? { message: report.message.slice(0, 512) } : {}),
  };
}

/** A slot (or a Job) that did not run: skipped as missed, forbidden by concurrency, past its deadline. */
export function notRunRecord(
  owner: { kind: 'Job' | 'CronJob'; name: string; jobUid?: string },
  id: string,
  reason: RunEndReason,
  at: number,
  message: string,
  scheduledAt?: number,
): JobRunRecord {
  return {
    id,
    owner: { kind: owner.kind, name: owner.name },
    ...(owner.jobUid !== undefined ? { jobUid: owner.jobUid } : {}),
    ...(scheduledAt !== undefined ? { scheduledAt: iso(scheduledAt) } : {}),
    attempt: 0,
    finishedAt: iso(at),
    output: [],
    reason,
    message: message.slice(0, 512),
  };
}

/** The start notice of an attempt: what the hub counts as active until the attempt's end record comes. */
export function startRecord(
  owner: { kind: 'Job' | 'CronJob'; name: string; jobUid?: string },
  idPrefix: string,
  index: number,
  attempt: number,
  startedAt: number,
  slot?: { scheduledAt: number; trigger: 'scheduled' | 'catch-up' | 'manual' },
): JobRunRecord {
  return {
    id: `${idPrefix}:${index}:${attempt}${RUN_START_SUFFIX}`,
    owner: { kind: owner.kind, name: owner.name },
    ...(owner.jobUid !== undefined ? { jobUid: owner.jobUid } : {}),
    ...(slot ? { scheduledAt: iso(slot.scheduledAt), trigger: slot.trigger } : {}),
    completionIndex: index,
    attempt,
    startedAt: iso(startedAt),
    output: [],
    reason: 'running',
  };
}
