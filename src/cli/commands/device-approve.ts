import { Command } from 'commander';
import { deviceViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';

export function deviceApproveCommand(): Command {
  return new Command('approve')
    .description('Let a held re-join take over a device: the board with the new key joins under the same id at its next attempt')
    .argument('<device>', 'device id (the RejoinPending event names it)')
    .addHelpText(
      'after',
      `
A known board that joins with a key the hub does not know (reflashed, state folder wiped, or
someone else with a join token) is held: the device keeps its credentials and a RejoinPending
event names the asking host and key. Check it with 'edgepilot describe device <id>', then approve.

Examples:
  edgepilot describe device rk3588-line2-4k7qz
  edgepilot device approve rk3588-line2-4k7qz`,
    )
    .action(async (id: string, _o: unknown, command: Command) => {
      const client = await hubClientFor(command);
      const device = await client.request('POST', `/v1/devices/${encodeURIComponent(id)}/approve`, deviceViewSchema, {});
      const pending = device.pendingRejoin;
      print(`device/${id} approved key ${pending?.keyFingerprint ?? '?'} of ${pending?.hostname ?? '?'}; it joins at its next attempt`);
    });
}
