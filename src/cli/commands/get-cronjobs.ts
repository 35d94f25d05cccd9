import { Command } from 'commander';
import { cronJobViewSchema, listSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderList } from '../output/format.js';
import { cronJobColumns } from '../output/job-columns.js';

export function getCronJobsCommand(): Command {
  return new Command('cronjobs')
    .aliases(['cronjob', 'cj'])
    .description('List CronJobs: schedule, zone, last and next run, active runs, devices, suspended')
    .option('-o, --output <format>', 'wide | json | yaml | name')
    .addHelpText(
      'after',
      `
NEXT RUN is the schedule's next slot in its zone; the devices keep the schedule themselves and fire
without the hub. LAST RUN is the newest run record the hub has received. ACTIVE counts the runs going
now (and names their devices): each device tells the hub when a run starts, not only when it ends,
through the same outbox as its run records, so runs started while the hub was away show up later.

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
