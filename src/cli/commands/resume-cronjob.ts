import { Command } from 'commander';
import { objectActionSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';

export function resumeCronJobCommand(): Command {
  return new Command('cronjob')
    .description("Schedule a suspended CronJob again (slots missed meanwhile follow missedRuns)")
    .argument('<name>', 'cronjob name')
    .addHelpText('after', '\nExample:\n  edgepilot resume cronjob nightly-backup')
    .action(async (name: string, _options: unknown, command: Command) => {
      const client = await hubClientFor(command);
      await client.request('POST', `/v1/cronjobs/${encodeURIComponent(name)}/suspend`, objectActionSchema, { suspend: false });
      print(`cronjob/${name} resumed`);
    });
}
