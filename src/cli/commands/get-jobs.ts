import { Command } from 'commander';
import { jobViewSchema, listSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderList } from '../output/format.js';
import { jobColumns } from '../output/job-columns.js';

export function getJobsCommand(): Command {
  return new Command('jobs')
    .aliases(['job'])
    .description('List Jobs: placement, completions (per device for everyDevice), status')
    .option('-o, --output <format>', 'wide | json | yaml | name')
    .addHelpText('after', '\nExamples:\n  edgepilot get jobs\n  edgepilot get jobs -o json')
    .action(async (options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/jobs', listSchema(jobViewSchema));
      print(renderList(list.items, format, jobColumns, 'No jobs. Create one with: edgepilot apply -f job.yaml'));
    });
}
