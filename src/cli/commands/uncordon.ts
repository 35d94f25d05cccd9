import { Command } from 'commander';
import { deviceViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';

export function uncordonCommand(): Command {
  return new Command('uncordon')
    .description('Let replicas land on a device again (also ends a drain)')
    .argument('<device>', 'device id')
    .addHelpText('after', '\nExamples:\n  edgepilot uncordon rk3588-line2-4k7qz')
    .action(async (id: string, _o: unknown, command: Command) => {
      const client = await hubClientFor(command);
      await client.request('POST', `/v1/devices/${encodeURIComponent(id)}/uncordon`, deviceViewSchema, {});
      print(`device/${id} uncordoned`);
    });
}
