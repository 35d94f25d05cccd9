import { Command } from 'commander';
import * as z from 'zod';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { parseOutputFormat, renderList } from '../output/format.js';
import { formatBytes } from '../output/human.js';

const deviceUsage = z.object({ id: z.string(), cpuPercent: z.number(), cpuCores: z.number(), memoryUsedBytes: z.number(), memoryTotalBytes: z.number(), instances: z.number() });
const workloadUsage = z.object({ name: z.string(), replicas: z.number(), cpuPercent: z.number(), memoryBytes: z.number(), custom: z.record(z.string(), z.number()) });

export function topCommand(): Command {
  return new Command('top')
    .description('Show CPU and memory use of devices or workloads (from the agents\' latest samples)')
    .argument('<resource>', 'devices | workloads')
    .option('-o, --output <format>', 'json | yaml')
    .addHelpText('after', '\nCPU of a workload is in percent of one core, summed over its replicas.\n\nExamples:\n  edgepilot top devices\n  edgepilot top workloads -o json')
    .action(async (resource: string, options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      if (resource === 'devices' || resource === 'device') {
        const list = await client.request('GET', '/v1/top/devices', z.object({ items: z.array(deviceUsage) }));
        print(
          renderList(list.items, format, {
            headers: ['ID', 'CPU%', 'CORES', 'MEMORY', 'MEMORY%', 'INSTANCES'],
            row: (d) => [d.id, `${d.cpuPercent.toFixed(1)}%`, String(d.cpuCores), formatBytes(d.memoryUsedBytes), d.memoryTotalBytes ? `${Math.round((d.memoryUsedBytes / d.memoryTotalBytes) * 100)}%` : '-', String(d.instances)],
            name: (d) => `device/${d.id}`,
          }, 'No usage samples yet (agents send one every 15 s).'),
        );
        return;
      }
      if (resource === 'workloads' || resource === 'workload') {
        const list = await client.request('GET', '/v1/top/workloads', z.object({ items: z.array(workloadUsage) }));
        print(
          renderList(list.items, format, {
            headers: ['NAME', 'REPLICAS', 'CPU%', 'MEMORY', 'METRICS'],
            row: (w) => [w.name, String(w.replicas), `${w.cpuPercent.toFixed(1)}%`, formatBytes(w.memoryBytes), Object.entries(w.custom).map(([k, v]) => `${k}=${v}`).join(',') || '<none>'],
            name: (w) => `workload/${w.name}`,
          }, 'No usage samples yet (agents send one every 15 s).'),
        );
        return;
      }
      throw new CliError(`top shows devices or workloads, not "${resource}"`);
    });
}
