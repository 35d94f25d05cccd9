import { Command } from 'commander';
import { apiTokenViewSchema, tokenViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';

export function tokenRevokeCommand(): Command {
  return new Command('revoke')
    .description("Revoke a join token (devices that already joined keep their own credentials), or with --name a person's API token")
    .argument('[id]', 'join token id (the part before the dot)')
    .option('--name <name>', "revoke this person's API token instead (it stops working at once)")
    .addHelpText('after', '\nExamples:\n  edgepilot token revoke k3x9qa\n  edgepilot token revoke --name alice')
    .action(async (id: string | undefined, options: { name?: string }, command: Command) => {
      if ((id === undefined) === (options.name === undefined)) throw new CliError('give a join token id or --name <person> (one of them)');
      const client = await hubClientFor(command);
      if (options.name !== undefined) {
        const token = await client.request('DELETE', `/v1/api-tokens/${encodeURIComponent(options.name)}`, apiTokenViewSchema);
        return print(`apitoken/${token.name} revoked`);
      }
      const given = id ?? '';
      const token = await client.request('DELETE', `/v1/tokens/${encodeURIComponent(given.split('.')[0] ?? given)}`, tokenViewSchema);
      print(`token/${token.id} revoked`);
    });
}
