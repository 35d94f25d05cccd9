import { Command } from 'commander';
import { z } from 'zod';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { loadManifests, readStdin } from '../manifests.js';

const deletedSchema = z.object({ kind: z.string(), name: z.string(), action: z.literal('deleted') });

/** Resource words (and their short forms) → the API path of one object and its printed kind. */
const resources: Record<string, { path: string; kind: string }> = {
  workload: { path: '/v1/workloads/', kind: 'workload' },
  workloads: { path: '/v1/workloads/', kind: 'workload' },
  wl: { path: '/v1/workloads/', kind: 'workload' },
  device: { path: '/v1/devices/', kind: 'device' },
  devices: { path: '/v1/devices/', kind: 'device' },
  dev: { path: '/v1/devices/', kind: 'device' },
};

export function deleteCommand(): Command {
  return new Command('delete')
    .description('Delete workloads (their instances stop on every device) or devices (they must join again to come back)')
    .argument('[resource]', 'workload | device')
    .argument('[names...]', 'names of the workloads, or ids of the devices')
    .option('-f, --filename <path...>', 'delete the workloads these manifests describe')
    .addHelpText(
      'after',
      `
Deleting a device removes its record, desired and reported state and events, closes its broker
session and revokes its credential (it cannot connect again until it joins with a new token);
its replicas are placed on other devices.

Examples:
  edgepilot delete workload tilt-reader
  edgepilot delete -f tilt-reader.yaml
  edgepilot delete device rk3588-line2-4k7qz`,
    )
    .action(async (resource: string | undefined, names: string[], options: { filename?: string[] }, command: Command) => {
      let targets = names;
      // Manifests describe workloads only.
      const target = options.filename ? resources['workload'] : resource !== undefined && Object.hasOwn(resources, resource) ? resources[resource] : undefined;
      if (!target) throw new CliError(resource ? `cannot delete "${resource}": workloads and devices can be deleted` : 'say what to delete: edgepilot delete workload <name>, edgepilot delete device <id>, or -f <file>');
      if (options.filename) {
        const manifests = await loadManifests(options.filename, readStdin);
        targets = manifests.map((m) => (m.value as { metadata: { name: string } }).metadata.name);
      }
      if (targets.length === 0) throw new CliError(`no ${target.kind} ${target.kind === 'device' ? 'ids' : 'names'} given`);
      const client = await hubClientFor(command);
      for (const name of targets) {
        await client.request('DELETE', `${target.path}${encodeURIComponent(name)}`, deletedSchema);
        print(`${target.kind}/${name} deleted`);
      }
    });
}
