import { Command } from 'commander';
import { deviceViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';

export function deviceDenyCommand(): Command {
  return new Command('deny')
    .description('Refuse a held re-join: the device keeps its key and credentials')
    .argument('<device>', 'device id')
    .addHelpText('after', '\nExamples:\n  edgepilot device deny rk3588-line2-4k7qz')
    .action(async (id: string, _o: unknown, command: Command) => {
      const client = await hubClientFor(command);
      await client.request('POST', `/v1/devices/${encodeURIComponent(id)}/deny`, deviceViewSchema, {});
      print(`device/${id} held join denied`);
    });
}
