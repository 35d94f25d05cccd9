import { Command } from 'commander';
import { cronJobViewSchema, listSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderList } from '../output/format.js';
import { cronJobColumns } from '../output/job-columns.js';

export function getCronJobsCommand(): Command {
  return new Command('cronjobs')
    .aliases(['cronjob', 'cj'])
    .description('List CronJobs: schedule, zone, last and next run, devices, suspended')
    .option('-o, --output <format>', 'wide | json | yaml | name')
    .addHelpText(
      'after',
      `
NEXT RUN is the schedule's next slot in its zone; the devices keep the schedule themselves and fire
without the hub. LAST RUN is the newest run record the hub has received.

Examples:
  edgepilot get cronjobs
  edgepilot get cronjobs -o yaml`,
    )
    .action(async (options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/cronjobs', listSchema(cronJobViewSchema));
      print(renderList(list.items, format, cronJobColumns, 'No cronjobs. Create one with: edgepilot apply -f cronjob.yaml'));
    });
}
