import { Command } from 'commander';
import { tokenViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';

export function tokenRevokeCommand(): Command {
  return new Command('revoke')
    .description('Revoke a join token; devices that already joined keep their own credentials')
    .argument('<id>', 'token id (the part before the dot)')
    .addHelpText('after', '\nExamples:\n  edgepilot token revoke k3x9qa')
    .action(async (id: string, _options: unknown, command: Command) => {
      const client = await hubClientFor(command);
      const token = await client.request('DELETE', `/v1/tokens/${encodeURIComponent(id.split('.')[0] ?? id)}`, tokenViewSchema);
      print(`token/${token.id} revoked`);
    });
}
