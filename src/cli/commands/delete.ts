import { Command } from 'commander';
import { z } from 'zod';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { loadManifests, readStdin } from '../manifests.js';

const deletedSchema = z.object({ kind: z.string(), name: z.string(), action: z.literal('deleted') });

export function deleteCommand(): Command {
  return new Command('delete')
    .description('Delete workloads; their instances are stopped on every device')
    .argument('[resource]', 'workload')
    .argument('[names...]', 'names of the workloads')
    .option('-f, --filename <path...>', 'delete what these manifests describe')
    .addHelpText('after', '\nExamples:\n  edgepilot delete workload tilt-reader\n  edgepilot delete -f tilt-reader.yaml')
    .action(async (resource: string | undefined, names: string[], options: { filename?: string[] }, command: Command) => {
      let targets = names;
      if (options.filename) {
        const manifests = await loadManifests(options.filename, readStdin);
        targets = manifests.map((m) => (m.value as { metadata: { name: string } }).metadata.name);
      } else if (resource !== 'workload' && resource !== 'workloads' && resource !== 'wl') {
        throw new CliError(resource ? `cannot delete "${resource}": only workloads can be deleted` : 'say what to delete: edgepilot delete workload <name>, or -f <file>');
      }
      if (targets.length === 0) throw new CliError('no workload names given');
      const client = await hubClientFor(command);
      for (const name of targets) {
        await client.request('DELETE', `/v1/workloads/${encodeURIComponent(name)}`, deletedSchema);
        print(`workload/${name} deleted`);
      }
    });
}
