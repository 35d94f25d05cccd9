import { Command } from 'commander';
import { formatSelector, jobDetailSchema, type JobDetail } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { indent, renderDescribe, type DescribeEntry } from '../output/describe.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { formatAge } from '../output/human.js';
import { runHeaders, runRows } from '../output/job-columns.js';
import { renderTable } from '../output/table.js';

function describeJob(j: JobDetail): string {
  const t = j.spec.template;
  const entries: DescribeEntry[] = [
    ['Name', j.name],
    ['Created', `${j.createdAt} (${formatAge(j.createdAt)} ago)`],
    ['Status', `${j.status.state}, completions ${j.status.completions}`],
    ['Placement', j.spec.placement === 'everyDevice' ? `everyDevice, selector ${formatSelector(j.spec.selector) || '<all devices>'}` : 'scheduled (one device)'],
    ['Completions', `${j.spec.completions}, parallelism ${j.spec.parallelism}, backoffLimit ${j.spec.backoffLimit}`],
    ['Deadline', j.spec.activeDeadlineSeconds !== undefined ? `${j.spec.activeDeadlineSeconds}s` : '<none>'],
    ['Exit codes', j.spec.exitCodePolicy.map((p) => `${p.action}: ${p.exitCodes.join(',')}`)],
    ['Runtime', t.runtime === 'container' ? `container ${t.image}` : `process ${t.command.join(' ')}`],
  ];
  if (j.fromCronJob) entries.push(['From', `cronjob/${j.fromCronJob}`]);
  if (j.unplaced) entries.push(['Unplaced', j.unplaced]);
  const devices = j.status.devices.length === 0 ? '  <none>' : indent(renderTable(['DEVICE', 'STATE', 'SUCCEEDED', 'FAILED', 'LAST-EXIT'], j.status.devices.map((d) => [d.device, d.state, String(d.succeeded), String(d.failed), d.lastExitCode !== undefined ? String(d.lastExitCode) : '-'])));
  const runs = j.runs.length === 0 ? '  <none>' : indent(renderTable(runHeaders, runRows(j.runs.slice(-50))));
  const events = j.events.length === 0 ? '  <none>' : indent(renderTable(['AGE', 'TYPE', 'REASON', 'MESSAGE'], j.events.slice(-20).map((e) => [formatAge(e.time), e.type, e.reason, e.message])));
  return [renderDescribe(entries), 'Devices:', devices, 'Runs:', runs, 'Events:', events].join('\n');
}

export function describeJobCommand(): Command {
  return new Command('job')
    .description('Show a Job: per-device state, every run with its exit code, events')
    .argument('<name>', 'job name')
    .option('-o, --output <format>', 'json | yaml')
    .addHelpText('after', '\nExamples:\n  edgepilot describe job db-migrate\n  edgepilot describe job db-migrate -o json')
    .action(async (name: string, options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      if (format === 'name' || format === 'wide') throw new CliError(`-o ${format} is not available for describe (use json or yaml)`);
      const client = await hubClientFor(command);
      const job = await client.request('GET', `/v1/jobs/${encodeURIComponent(name)}`, jobDetailSchema);
      print(format === 'table' ? describeJob(job) : renderObject(job, format));
    });
}
