import { Command } from 'commander';
import { cronJobDetailSchema, formatSelector, type CronJobDetail } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { indent, renderDescribe, type DescribeEntry } from '../output/describe.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { formatAge } from '../output/human.js';
import { lastRunText, runHeaders, runRows } from '../output/job-columns.js';
import { renderTable } from '../output/table.js';

function describeCronJob(c: CronJobDetail, all: boolean): string {
  const s = c.spec;
  const entries: DescribeEntry[] = [
    ['Name', c.name],
    ['Created', `${c.createdAt} (${formatAge(c.createdAt)} ago)`],
    ['Schedule', `${s.schedule} (${s.timeZone})`],
    ['Suspended', String(s.suspend)],
    ['Concurrency', s.concurrencyPolicy],
    ['Missed runs', `${s.missedRuns}${s.startingDeadlineSeconds !== undefined ? `, startingDeadlineSeconds ${s.startingDeadlineSeconds}` : ''}`],
    ['Selector', formatSelector(s.selector) || '<all devices>'],
    ['Devices', c.devices.length ? c.devices.join(', ') : '<none>'],
    ['Last run', lastRunText(c.status.lastRun)],
    ['Next run', c.status.nextRun ?? '<none>'],
    ['Active', activeRuns(c)],
    ...((c.status.unaccounted ?? []).length > 0 ? [['Unaccounted', unaccountedRuns(c)] as [string, string[]]] : []),
  ];
  // History limits (Kubernetes' meaning, per device): the newest successful and failed runs are shown; --all shows every record kept.
  const shown = all ? c.runs : limitHistory(c);
  const runs = shown.length === 0 ? '  <none>' : indent(renderTable(runHeaders, runRows(shown)));
  const events = c.events.length === 0 ? '  <none>' : indent(renderTable(['AGE', 'TYPE', 'REASON', 'MESSAGE'], c.events.slice(-20).map((e) => [formatAge(e.time), e.type, e.reason, e.message])));
  const title = all ? `Runs (all ${c.runs.length} kept):` : `Runs (per device: last ${s.successfulJobsHistoryLimit} successful, ${s.failedJobsHistoryLimit} failed, and skipped slots; --all for every record):`;
  return [renderDescribe(entries), title, runs, 'Events:', events].join('\n');
}

/** Running attempts, one per line: "dev-1: slot 2026-…, started 4s ago". */
function activeRuns(c: CronJobDetail): string[] {
  return (c.status.active ?? []).map((r) => `${r.device}: slot ${r.scheduledAt ?? '-'}, started ${r.startedAt ? `${formatAge(r.startedAt)} ago` : '?'}`);
}

/** Start notices whose end never came and never will: "dev-1: slot 2026-…, started 2h ago: its device was deleted". */
function unaccountedRuns(c: CronJobDetail): string[] {
  return (c.status.unaccounted ?? []).map(({ run: r, why }) => `${r.device}: slot ${r.scheduledAt ?? '-'}, started ${r.startedAt ? `${formatAge(r.startedAt)} ago` : '?'}: ${why}`);
}

function limitHistory(c: CronJobDetail): CronJobDetail['runs'] {
  const keep = new Set<CronJobDetail['runs'][number]>();
  for (const device of new Set(c.runs.map((r) => r.device))) {
    const mine = c.runs.filter((r) => r.device === device);
    for (const r of mine.filter((x) => x.reason === 'completed').slice(-c.spec.successfulJobsHistoryLimit)) keep.add(r);
    for (const r of mine.filter((x) => x.reason === 'failed' || x.reason === 'deadline' || x.reason === 'replaced').slice(-c.spec.failedJobsHistoryLimit)) keep.add(r);
    for (const r of mine.filter((x) => x.reason === 'running')) keep.add(r);
    for (const r of mine.filter((x) => x.reason === 'skipped-missed' || x.reason === 'forbidden-by-concurrency').slice(-3)) keep.add(r);
  }
  return c.runs.filter((r) => keep.has(r));
}

export function describeCronJobCommand(): Command {
  return new Command('cronjob')
    .description('Show a CronJob: schedule, devices, runs per device with exit codes, events')
    .argument('<name>', 'cronjob name')
    .option('--all', 'list every run record the hub keeps, not only the history limits')
    .option('-o, --output <format>', 'json | yaml (every record)')
    .addHelpText('after', '\nExamples:\n  edgepilot describe cronjob nightly-backup\n  edgepilot describe cronjob nightly-backup --all')
    .action(async (name: string, options: { output?: string; all?: boolean }, command: Command) => {
      const format = parseOutputFormat(options.output);
      if (format === 'name' || format === 'wide') throw new CliError(`-o ${format} is not available for describe (use json or yaml)`);
      const client = await hubClientFor(command);
      const cronJob = await client.request('GET', `/v1/cronjobs/${encodeURIComponent(name)}`, cronJobDetailSchema);
      print(format === 'table' ? describeCronJob(cronJob, options.all === true) : renderObject(cronJob, format));
    });
}
