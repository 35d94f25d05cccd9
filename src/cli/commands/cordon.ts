import { Command } from 'commander';
import { deviceViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';

export function cordonCommand(): Command {
  return new Command('cordon')
    .description('Mark a device unschedulable: no new replicas land there; running ones stay')
    .argument('<device>', 'device id')
    .addHelpText('after', '\nExamples:\n  edgepilot cordon rk3588-line2-4k7qz')
    .action(async (id: string, _o: unknown, command: Command) => {
      const client = await hubClientFor(command);
      await client.request('POST', `/v1/devices/${encodeURIComponent(id)}/cordon`, deviceViewSchema, {});
      print(`device/${id} cordoned`);
    });
}
