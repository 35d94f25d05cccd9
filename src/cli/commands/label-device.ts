import { Command } from 'commander';
import { deviceViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { parseLabelAssignments } from '../parse.js';

export function labelDeviceCommand(): Command {
  return new Command('device')
    .description('Add, change or remove labels of a device')
    .argument('<id>', 'device id')
    .argument('<labels...>', 'k=v to set, k- to remove (an error if the device has no label k)')
    .option('--overwrite', 'allow changing the value of an existing label')
    .addHelpText(
      'after',
      `
Examples:
  edgepilot label device rk3588-line2-4k7qz topology.edgepilot.io/zone=line-2
  edgepilot label device rk3588-line2-4k7qz role=camera --overwrite
  edgepilot label device rk3588-line2-4k7qz role-`,
    )
    .action(async (id: string, words: string[], options: { overwrite?: boolean }, command: Command) => {
      const patch = parseLabelAssignments(words);
      const client = await hubClientFor(command);
      const path = `/v1/devices/${encodeURIComponent(id)}`;
      if (!options.overwrite) {
        const current = await client.request('GET', path, deviceViewSchema);
        const clash = Object.entries(patch.set).find(([k, v]) => Object.hasOwn(current.labels, k) && current.labels[k] !== v);
        if (clash) throw new CliError(`device ${id} already has ${clash[0]}=${current.labels[clash[0]] ?? ''}; pass --overwrite to change it`);
      }
      await client.request('PATCH', `${path}/labels`, deviceViewSchema, patch);
      print(`device/${id} labeled`);
    });
}
