import { Command } from 'commander';
import { listSchema, releaseViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderList } from '../output/format.js';
import { releaseColumns } from '../output/rollout-columns.js';

export function getReleasesCommand(): Command {
  return new Command('releases')
    .aliases(['release', 'rel'])
    .description('List releases: workloads, firmware, HIL gate verdict, devices running each')
    .option('-o, --output <format>', 'wide | json | yaml | name')
    .addHelpText('after', '\nExamples:\n  edgepilot get releases\n  edgepilot get releases -o wide')
    .action(async (options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/releases', listSchema(releaseViewSchema));
      print(renderList(list.items, format, releaseColumns, 'No releases. Create one with: edgepilot release create -f release.yaml'));
    });
}
