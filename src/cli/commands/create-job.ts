import { Command } from 'commander';
import { objectActionSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';

export function createJobCommand(): Command {
  return new Command('job')
    .description("Run a CronJob's template now, as a Job on every device of the CronJob")
    .argument('[name]', 'name of the new Job (default: <cronjob>-manual-<time>)')
    .requiredOption('--from <cronjob/name>', 'the CronJob whose template runs')
    .addHelpText('after', '\nExamples:\n  edgepilot create job --from cronjob/nightly-backup\n  edgepilot create job backup-now --from cronjob/nightly-backup')
    .action(async (name: string | undefined, options: { from: string }, command: Command) => {
      const match = /^(?:cronjob|cronjobs|cj)\/(.+)$/.exec(options.from);
      if (!match?.[1]) throw new CliError(`--from: expected cronjob/<name>, got "${options.from}"`);
      const client = await hubClientFor(command);
      const result = await client.request('POST', '/v1/jobs/from-cronjob', objectActionSchema, { cronJob: match[1], ...(name ? { name } : {}) });
      print(`job/${result.name} created`);
    });
}
