import type { Command } from 'commander';
import { cronJobDetailSchema, jobDetailSchema, type StoredJobRunView } from '../protocol/index.js';
import { hubClientFor, print } from './context.js';
import { CliError } from './errors.js';

/**
 * `logs job/<name>` and `logs cronjob/<name>`: the output each run recorded (its last 20 lines), from
 * the run records devices sent, so it works for runs made while the hub was away and on devices that
 * are offline now. A header per run says when, where and how it ended.
 */
export async function printJobLogs(target: string, options: { device?: string; tail: number }, command: Command): Promise<boolean> {
  const match = /^(job|jobs|cronjob|cronjobs|cj)\/(.+)$/.exec(target);
  if (!match?.[2]) return false;
  const isJob = match[1]?.startsWith('job') === true;
  const client = await hubClientFor(command);
  const path = `/v1/${isJob ? 'jobs' : 'cronjobs'}/${encodeURIComponent(match[2])}`;
  const runs: StoredJobRunView[] = isJob ? (await client.request('GET', path, jobDetailSchema)).runs : (await client.request('GET', path, cronJobDetailSchema)).runs;
  const mine = runs.filter((r) => r.startedAt !== undefined && (options.device === undefined || r.device === options.device));
  if (mine.length === 0) throw new CliError(`no runs of ${target}${options.device ? ` on device ${options.device}` : ''} yet`);
  const lines: string[] = [];
  for (const r of mine) {
    // A start notice (reason running) has no output yet: its end record brings it.
    const end = r.reason === 'running' ? 'no output until it ends' : r.exitCode !== undefined ? `exit ${r.exitCode}` : (r.signal ?? '?');
    lines.push(`--- ${r.device} ${r.scheduledAt ?? r.startedAt ?? ''} attempt ${r.attempt}: ${r.reason}, ${end} ---`, ...r.output);
  }
  print((options.tail > 0 ? lines.slice(-options.tail) : lines).join('\n'));
  return true;
}
