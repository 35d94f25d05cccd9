import { Command } from 'commander';
import { hubViewSchema, listSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { hubColumns } from '../output/hub-columns.js';
import { parseOutputFormat, renderList } from '../output/format.js';

export function getHubsCommand(): Command {
  return new Command('hubs')
    .aliases(['hub'])
    .description('List the live hubs: which one leads (runs the controllers), health with the reason, connections and load')
    .option('-o, --output <format>', 'wide | json | yaml | name')
    .addHelpText(
      'after',
      `
A hub started with --redis announces itself there every 2 s and drops out of the list 6 s after
its last announcement; a hub without --redis lists only itself. CPU is the hub process's share
of one CPU over the last announcement interval; LOAD is its machine's 1-minute load / CPUs.

Examples:
  edgepilot get hubs
  edgepilot get hubs -o wide
  edgepilot get hubs -o json | jq -r '.items[] | select(.leading) | .id'`,
    )
    .action(async (options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/hubs', listSchema(hubViewSchema));
      print(renderList(list.items, format, hubColumns, 'No hubs answered.'));
    });
}
