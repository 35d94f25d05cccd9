import type { CronJobView, JobView, StoredJobRunView } from '../../protocol/index.js';
import type { Columns } from './format.js';
import { formatAge } from './human.js';

export const jobColumns: Columns<JobView> = {
  headers: ['NAME', 'PLACEMENT', 'COMPLETIONS', 'STATUS', 'DEVICES', 'AGE'],
  row: (j) => [j.name, j.spec.placement, j.status.completions, j.status.state, String(j.status.devices.length), formatAge(j.createdAt)],
  wideHeaders: ['FROM', 'UNPLACED'],
  wideRow: (j) => [j.fromCronJob ? `cronjob/${j.fromCronJob}` : '-', j.unplaced ?? '-'],
  name: (j) => `job/${j.name}`,
};

/** "exit 0, 3s ago on dev-1" — the newest record of a CronJob. */
export function lastRunText(run: StoredJobRunView | undefined): string {
  if (!run) return '<none>';
  const end = run.exitCode !== undefined ? `exit ${run.exitCode}` : run.signal ? run.signal : run.reason;
  return `${end}, ${formatAge(run.finishedAt ?? run.startedAt ?? run.receivedAt)} ago`;
}

/** "2 (dev-1, dev-2)": attempts running now, from the devices' start notices. */
export function activeText(c: CronJobView): string {
  const active = c.status.active ?? [];
  if (active.length === 0) return '0';
  const devices = [...new Set(active.map((r) => r.device))];
  return `${active.length} (${devices.slice(0, 2).join(', ')}${devices.length > 2 ? ', …' : ''})`;
}

function nextRunText(c: CronJobView): string {
  if (c.spec.suspend) return '<suspended>';
  const next = c.status.nextRun;
  if (!next) return '<never>';
  const seconds = Math.max(0, Math.round((Date.parse(next) - Date.now()) / 1000));
  return `in ${seconds < 120 ? `${seconds}s` : formatAge(new Date(Date.now() - seconds * 1000).toISOString())}`;
}

export const cronJobColumns: Columns<CronJobView> = {
  headers: ['NAME', 'SCHEDULE', 'ZONE', 'LAST RUN', 'NEXT RUN', 'ACTIVE', 'DEVICES', 'SUSPENDED', 'AGE'],
  row: (c) => [c.name, c.spec.schedule, c.spec.timeZone, lastRunText(c.status.lastRun), nextRunText(c), activeText(c), String(c.devices.length), String(c.spec.suspend), formatAge(c.createdAt)],
  wideHeaders: ['CONCURRENCY', 'MISSED-RUNS'],
  wideRow: (c) => [c.spec.concurrencyPolicy, c.spec.missedRuns],
  name: (c) => `cronjob/${c.name}`,
};

/** Run records as a table: one line per attempt or skipped slot. */
export function runRows(runs: readonly StoredJobRunView[]): string[][] {
  return runs.map((r) => [
    r.device,
    r.scheduledAt ?? '-',
    r.trigger ?? '-',
    r.startedAt ?? '-',
    r.durationMs !== undefined ? `${(r.durationMs / 1000).toFixed(1)}s` : '-',
    r.exitCode !== undefined ? String(r.exitCode) : (r.signal ?? '-'),
    r.reason,
    (r.message ?? r.output.at(-1) ?? '').slice(0, 60),
  ]);
}
export const runHeaders = ['DEVICE', 'SCHEDULED', 'TRIGGER', 'STARTED', 'DURATION', 'EXIT', 'REASON', 'MESSAGE/LAST OUTPUT'];
