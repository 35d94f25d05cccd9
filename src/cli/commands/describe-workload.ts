import { Command } from 'commander';
import { formatCpuMillis, formatMemoryBytes, formatSelector, workloadDetailSchema, type ResourceList, type WorkloadDetail } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { indent, renderDescribe, type DescribeEntry } from '../output/describe.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { formatAge, formatDuration } from '../output/human.js';
import { renderTable } from '../output/table.js';
import { phaseSummary } from '../output/workload-columns.js';

/** In the manifest's own notation (`cpu 500m, memory 64Mi`), so it reads like what was applied. */
function formatResourceList(list: ResourceList): string {
  const cpu = list.cpuMillis !== undefined ? formatCpuMillis(list.cpuMillis) : '-';
  const memory = list.memoryBytes !== undefined ? formatMemoryBytes(list.memoryBytes) : '-';
  return `cpu ${cpu}, memory ${memory}`;
}

function describeWorkload(w: WorkloadDetail): string {
  const t = w.spec.template;
  const entries: DescribeEntry[] = [
    ['Name', w.name],
    ['Labels', Object.entries(w.labels).map(([k, v]) => `${k}=${v}`)],
    ['Created', `${w.createdAt} (${formatAge(w.createdAt)} ago)`],
    ['Revision', w.revision],
    ['Replicas', `${w.status.desired} desired, ${w.status.placed} placed, ${w.status.running} running, ${w.status.ready} ready`],
    ['Selector', formatSelector(w.spec.selector) || '<all devices>'],
    ['Runtime', t.runtime === 'container' ? `container ${t.image}` : `process ${t.command.join(' ')}`],
    ['Args', t.args.length ? t.args.join(' ') : '<none>'],
    ['Restart Policy', t.restartPolicy],
    ['Requests', formatResourceList(t.resources.requests)],
    ['Limits', formatResourceList(t.resources.limits)],
    ['Volumes', t.volumes.map((v) => `${v.name} → ${v.mountPath}${v.hostPath ? ` (host ${v.hostPath})` : ''}${v.readOnly ? ' ro' : ''}`)],
    ['Probes', Object.entries(t.probes).map(([k, p]) => `${k}: ${p.exec ? `exec ${p.exec.command.join(' ')}` : p.http ? `http :${p.http.port}${p.http.path}` : `tcp :${p.tcp?.port ?? '?'}`} every ${p.periodSeconds}s`)],
  ];
  if (w.status.unplacedReason) entries.push(['Unplaced', w.status.unplacedReason]);
  const instances =
    w.status.instances.length === 0
      ? '  <none>'
      : indent(
          renderTable(
            ['DEVICE', 'INSTANCE', 'PHASE', 'READY', 'RESTARTS', 'LAST-EXIT', 'STARTED', 'REVISION'],
            w.status.instances.map((i) => [
              `${i.device}${i.deviceState === 'online' ? '' : ` (${i.deviceState})`}`,
              i.id,
              i.phase + (i.nextRestartAt ? ` (retry in ${formatDuration((Date.parse(i.nextRestartAt) - Date.now()) / 1000)})` : ''),
              String(i.ready),
              String(i.restarts),
              i.lastExitCode !== undefined ? String(i.lastExitCode) : '-',
              i.startedAt ? `${formatAge(i.startedAt)} ago` : '-',
              i.revision.slice(0, 8) + (i.revision === w.revision ? '' : ' (old)'),
            ]),
          ),
        );
  const troubled = w.status.instances.filter((i) => i.lastError || (i.lastLogLines?.length && i.phase !== 'running'));
  const problems = troubled
    .map((i) => [`  ${i.device}/${i.id}:${i.lastError ? ` ${i.lastError}` : ''}`, ...(i.lastLogLines ?? []).slice(-5).map((l) => `    | ${l}`)].join('\n'))
    .join('\n');
  const events = w.events.length === 0 ? '  <none>' : indent(renderTable(['AGE', 'TYPE', 'REASON', 'MESSAGE'], w.events.slice(-20).map((e) => [formatAge(e.time), e.type, e.reason, e.message])));
  return [
    renderDescribe(entries),
    `Instances (${phaseSummary(w.status.instances)}):`,
    instances,
    ...(problems ? ['Last errors and output:', problems] : []),
    'Events:',
    events,
  ].join('\n');
}

export function describeWorkloadCommand(): Command {
  return new Command('workload')
    .aliases(['workloads', 'wl'])
    .description('Show a workload: spec, instances per device with phase and restarts, last errors, events')
    .argument('<name>', 'workload name')
    .option('-o, --output <format>', 'json | yaml (default: human-readable)')
    .addHelpText('after', '\nExamples:\n  edgepilot describe workload tilt-reader')
    .action(async (name: string, options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const workload = await client.request('GET', `/v1/workloads/${encodeURIComponent(name)}`, workloadDetailSchema);
      if (format === 'json' || format === 'yaml') return print(renderObject(workload, format));
      if (format !== 'table') throw new CliError(`describe supports -o json or -o yaml, not ${format}`);
      print(describeWorkload(workload));
    });
}
