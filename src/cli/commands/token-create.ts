import { Command } from 'commander';
import { apiTokenCreatedSchema, apiTokenLimits, nameSchema, roleSchema, roles, tokenCreatedSchema, tokenLimits, type Role } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { parseDuration, parseLabelAssignments, parsePositiveInt } from '../parse.js';
import { CliError } from '../errors.js';
import { errorMessage } from '../../common/errors.js';

/** Checked here, so the error names the flag rather than the API field it becomes. */
function ttlFrom(text: string, max: number = tokenLimits.maxTtlSeconds, maxText = '365d'): number {
  let seconds: number;
  try {
    seconds = parseDuration(text);
  } catch (err) {
    throw new CliError(`--ttl: ${errorMessage(err)}`);
  }
  if (seconds < tokenLimits.minTtlSeconds) throw new CliError(`--ttl: must be at least 1m (got ${text})`);
  if (seconds > max) throw new CliError(`--ttl: must be at most ${maxText} (got ${text})`);
  return seconds;
}

function maxUsesFrom(text: string): number {
  const n = parsePositiveInt(text, '--max-uses');
  if (n > tokenLimits.maxUses) throw new CliError(`--max-uses: must be at most ${tokenLimits.maxUses} (got ${text})`);
  return n;
}

interface CreateOptions {
  ttl: string;
  labels?: string;
  maxUses?: string;
  description?: string;
  output?: string;
  role?: string;
  name?: string;
}

/**
 * `--role` makes a person's API token instead of a join token: one noun ("a token"), the role
 * saying it is for a person. Join-token flags make no sense with it and are refused.
 */
async function createApiToken(options: CreateOptions, command: Command): Promise<void> {
  const format = parseOutputFormat(options.output);
  const role = roleSchema.safeParse(options.role);
  if (!role.success) throw new CliError(`--role: must be one of ${roles.join(', ')} (got ${options.role ?? ''})`);
  if (options.name === undefined) throw new CliError('--name: required with --role (whose token it is, shown in the audit log)');
  if (!nameSchema.safeParse(options.name).success) throw new CliError(`--name: lowercase letters, digits and -, at most 63 characters (got ${options.name})`);
  if (options.labels !== undefined || options.maxUses !== undefined) throw new CliError('--labels and --max-uses are for join tokens; a token with --role is a person\'s API token');
  const ttlGiven = command.getOptionValueSource('ttl') === 'cli';
  const body = {
    name: options.name,
    role: role.data satisfies Role,
    ...(ttlGiven ? { ttlSeconds: ttlFrom(options.ttl, apiTokenLimits.maxTtlSeconds, '3y') } : {}),
    ...(options.description ? { description: options.description } : {}),
  };
  const client = await hubClientFor(command);
  const created = await client.request('POST', '/v1/api-tokens', apiTokenCreatedSchema, body);
  if (format === 'json' || format === 'yaml') return print(renderObject(created, format));
  print(created.token);
  process.stderr.write(`API token ${created.name} (role ${created.role}) ${created.expiresAt ? `valid until ${created.expiresAt}` : 'valid until revoked'}; it is shown only once\n`);
}

export function tokenCreateCommand(): Command {
  return new Command('create')
    .description('Create a join token that devices use to register themselves, or with --role a person\'s API token')
    .option('--role <role>', `make a person's API token with this role: ${roles.join(' | ')}`)
    .option('--name <name>', 'whose API token it is (with --role; names them in the audit log)')
    .option('--ttl <duration>', 'how long the token is valid (1m to 365d; API tokens: until revoked unless given)', '24h')
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
  edgepilot agent --hub https://hub.plant-3:7080 --join-token <token>
  # a technician's own token, read-only:
  edgepilot token create --role viewer --name alice`,
    )
    .action(async (options: CreateOptions, command: Command) => {
      if (options.role !== undefined || options.name !== undefined) return createApiToken(options, command);
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
