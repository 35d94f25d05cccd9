import { Command } from 'commander';
import { apiTokenViewSchema, listSchema, tokenViewSchema, type ApiTokenView, type TokenView } from '../../protocol/index.js';
import { CliError } from '../errors.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderList, type Columns } from '../output/format.js';
import { formatAge, formatDuration, formatLabels } from '../output/human.js';

const tokenColumns: Columns<TokenView> = {
  headers: ['ID', 'STATE', 'USES', 'EXPIRES', 'LABELS', 'DESCRIPTION'],
  row: (t) => [
    t.id,
    t.state,
    t.maxUses === undefined ? `${t.uses}` : `${t.uses}/${t.maxUses}`,
    Date.parse(t.expiresAt) > Date.now() ? `in ${formatDuration((Date.parse(t.expiresAt) - Date.now()) / 1000)}` : `${formatAge(t.expiresAt)} ago`,
    formatLabels(t.labels, '\u0000'),
    t.description || '<none>',
  ],
  name: (t) => `token/${t.id}`,
};

const apiTokenColumns: Columns<ApiTokenView> = {
  headers: ['NAME', 'ROLE', 'STATE', 'CREATED', 'BY', 'EXPIRES', 'DESCRIPTION'],
  row: (t) => [
    t.name,
    t.role,
    t.state,
    `${formatAge(t.createdAt)} ago`,
    t.createdBy,
    t.expiresAt === undefined ? 'never' : Date.parse(t.expiresAt) > Date.now() ? `in ${formatDuration((Date.parse(t.expiresAt) - Date.now()) / 1000)}` : `${formatAge(t.expiresAt)} ago`,
    t.description || '<none>',
  ],
  name: (t) => `apitoken/${t.name}`,
};

export function tokenListCommand(): Command {
  return new Command('list')
    .alias('ls')
    .description("List join tokens, or with --kind api people's API tokens (secrets are never shown again)")
    .option('--kind <kind>', 'join (devices) | api (people, with roles)', 'join')
    .option('-o, --output <format>', 'json | yaml | name')
    .addHelpText('after', '\nExamples:\n  edgepilot token list\n  edgepilot token list -o json\n  edgepilot token list --kind api')
    .action(async (options: { output?: string; kind: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      if (options.kind !== 'join' && options.kind !== 'api') throw new CliError(`--kind: join or api (got ${options.kind})`);
      const client = await hubClientFor(command);
      if (options.kind === 'api') {
        const people = await client.request('GET', '/v1/api-tokens', listSchema(apiTokenViewSchema));
        return print(renderList(people.items, format, apiTokenColumns, 'No API tokens.'));
      }
      const list = await client.request('GET', '/v1/tokens', listSchema(tokenViewSchema));
      print(renderList(list.items, format, tokenColumns, 'No join tokens.'));
    });
}
