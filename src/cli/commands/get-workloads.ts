import { Command } from 'commander';
import { listSchema, workloadViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderList } from '../output/format.js';
import { workloadColumns } from '../output/workload-columns.js';

export function getWorkloadsCommand(): Command {
  return new Command('workloads')
    .aliases(['workload', 'wl'])
    .description('List workloads: replicas desired, placed and ready, restarts')
    .option('-o, --output <format>', 'wide | json | yaml | name')
    .addHelpText(
      'after',
      `
-o json lists every instance per device (phase, ready, restarts, last exit code, last error).
-o json and -o yaml show resources in the hub's units, named in the field: cpuMillis (500 for
cpu: 500m) and memoryBytes (67108864 for memory: 64Mi).

Examples:
  edgepilot get workloads
  edgepilot get workloads -o wide
  edgepilot get workloads -o json | jq '.items[].status.instances[] | {device, phase, restarts}'`,
    )
    .action(async (options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/workloads', listSchema(workloadViewSchema));
      print(renderList(list.items, format, workloadColumns, 'No workloads. Create one with: edgepilot apply -f workload.yaml'));
    });
}
