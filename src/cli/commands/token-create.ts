import { Command } from 'commander';
import { tokenCreatedSchema, tokenLimits } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { parseDuration, parseLabelAssignments, parsePositiveInt } from '../parse.js';
import { CliError } from '../errors.js';

/** Checked here, so the error names the flag rather than the API field it becomes. */
function ttlFrom(text: string): number {
  let seconds: number;
  try {
    seconds = parseDuration(text);
  } catch (err) {
    throw new CliError(`--ttl: ${(err as Error).message}`);
  }
  if (seconds < tokenLimits.minTtlSeconds) throw new CliError(`--ttl: must be at least 1m (got ${text})`);
  if (seconds > tokenLimits.maxTtlSeconds) throw new CliError(`--ttl: must be at most 365d (got ${text})`);
  return seconds;
}

function maxUsesFrom(text: string): number {
  const n = parsePositiveInt(text, '--max-uses');
  if (n > tokenLimits.maxUses) throw new CliError(`--max-uses: must be at most ${tokenLimits.maxUses} (got ${text})`);
  return n;
}

export function tokenCreateCommand(): Command {
  return new Command('create')
    .description('Create a join token that devices use to register themselves')
    .option('--ttl <duration>', 'how long the token is valid (1m to 365d)', '24h')
    .option('--labels <k=v,...>', 'labels every device joining with this token receives')
    .option('--max-uses <n>', `how many devices may join with it (1 to ${tokenLimits.maxUses})`)
    .option('--description <text>', 'what the token is for (shown in token list)')
    .option('-o, --output <format>', 'json | yaml (default: the token alone)')
    .addHelpText(
      'after',
      `
Examples:
  edgepilot token create
  edgepilot token create --ttl 2h --max-uses 20 --labels site=plant-3,topology.edgepilot.io/zone=line-2
  # then on each board:
  edgepilot agent --hub https://hub.plant-3:7080 --join-token <token>`,
    )
    .action(async (options: { ttl: string; labels?: string; maxUses?: string; description?: string; output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const labels = options.labels ? parseLabelAssignments([options.labels]) : { set: {}, remove: [] };
      if (labels.remove.length > 0) throw new CliError('--labels takes k=v pairs only');
      const body = {
        ttlSeconds: ttlFrom(options.ttl),
        labels: labels.set,
        ...(options.maxUses !== undefined ? { maxUses: maxUsesFrom(options.maxUses) } : {}),
        ...(options.description ? { description: options.description } : {}),
      };
      const client = await hubClientFor(command);
      const created = await client.request('POST', '/v1/tokens', tokenCreatedSchema, body);
      if (format === 'json' || format === 'yaml') return print(renderObject(created, format));
      print(created.token);
      process.stderr.write(`token ${created.id} valid until ${created.expiresAt}${created.maxUses ? ` for ${created.maxUses} device(s)` : ''}; it is shown only once\n`);
    });
}
