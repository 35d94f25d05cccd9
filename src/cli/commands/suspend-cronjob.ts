import { Command } from 'commander';
import { objectActionSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';

export function suspendCronJobCommand(): Command {
  return new Command('cronjob')
    .description("Stop a CronJob's schedule on its devices (runs going on finish)")
    .argument('<name>', 'cronjob name')
    .addHelpText('after', '\nExample:\n  edgepilot suspend cronjob nightly-backup')
    .action(async (name: string, _options: unknown, command: Command) => {
      const client = await hubClientFor(command);
      await client.request('POST', `/v1/cronjobs/${encodeURIComponent(name)}/suspend`, objectActionSchema, { suspend: true });
      print(`cronjob/${name} suspended`);
    });
}
