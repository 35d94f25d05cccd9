import { Command } from 'commander';
import { listSchema, rolloutViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderList } from '../output/format.js';
import { rolloutColumns } from '../output/rollout-columns.js';

export function getRolloutsCommand(): Command {
  return new Command('rollouts')
    .aliases(['rollout', 'ro'])
    .description('List rollouts: release, phase, current wave, healthy/failed/deferred devices')
    .option('-o, --output <format>', 'json | yaml | name')
    .addHelpText('after', '\nExamples:\n  edgepilot get rollouts\n  edgepilot get rollouts -o json')
    .action(async (options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/rollouts', listSchema(rolloutViewSchema));
      print(renderList(list.items, format, rolloutColumns, 'No rollouts. Start one with: edgepilot rollout start -f rollout.yaml'));
    });
}
