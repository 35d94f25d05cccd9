import { Command } from 'commander';
import { listSchema, tokenViewSchema, type TokenView } from '../../protocol/index.js';
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

export function tokenListCommand(): Command {
  return new Command('list')
    .alias('ls')
    .description('List join tokens (their secrets are never shown again)')
    .option('-o, --output <format>', 'json | yaml | name')
    .addHelpText('after', '\nExamples:\n  edgepilot token list\n  edgepilot token list -o json')
    .action(async (options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/tokens', listSchema(tokenViewSchema));
      print(renderList(list.items, format, tokenColumns, 'No join tokens.'));
    });
}
