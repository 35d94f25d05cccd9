import { Command } from 'commander';
import { tokenCreatedSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { parseDuration, parseLabelAssignments, parsePositiveInt } from '../parse.js';
import { CliError } from '../errors.js';

export function tokenCreateCommand(): Command {
  return new Command('create')
    .description('Create a join token that devices use to register themselves')
    .option('--ttl <duration>', 'how long the token is valid', '24h')
    .option('--labels <k=v,...>', 'labels every device joining with this token receives')
    .option('--max-uses <n>', 'how many devices may join with it')
    .option('--description <text>', 'what the token is for (shown in token list)')
    .option('-o, --output <format>', 'json | yaml (default: the token alone)')
    .addHelpText(
      'after',
      `
Examples:
  edgepilot token create
  edgepilot token create --ttl 2h --max-uses 20 --labels site=plant-3,topology.edgepilot.io/zone=line-2
  # then on each board:
  edgepilot agent --hub http://hub.plant-3:7080 --join-token <token>`,
    )
    .action(async (options: { ttl: string; labels?: string; maxUses?: string; description?: string; output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const labels = options.labels ? parseLabelAssignments([options.labels]) : { set: {}, remove: [] };
      if (labels.remove.length > 0) throw new CliError('--labels takes k=v pairs only');
      const body = {
        ttlSeconds: parseDuration(options.ttl),
        labels: labels.set,
        ...(options.maxUses !== undefined ? { maxUses: parsePositiveInt(options.maxUses, '--max-uses') } : {}),
        ...(options.description ? { description: options.description } : {}),
      };
      const client = await hubClientFor(command);
      const created = await client.request('POST', '/v1/tokens', tokenCreatedSchema, body);
      if (format === 'json' || format === 'yaml') return print(renderObject(created, format));
      print(created.token);
      process.stderr.write(`token ${created.id} valid until ${created.expiresAt}${created.maxUses ? ` for ${created.maxUses} device(s)` : ''}; it is shown only once\n`);
    });
}
