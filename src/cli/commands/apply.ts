import { Command } from 'commander';
import { applyResultSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { loadManifests, readStdin } from '../manifests.js';

export function applyCommand(): Command {
  return new Command('apply')
    .description('Create or update workloads from YAML manifests')
    .requiredOption('-f, --filename <path...>', 'a file, a folder of .yaml files, or - for stdin')
    .option('--wait', 'answer once the placement pass that includes the change has run (get/describe then show where replicas go)')
    .addHelpText(
      'after',
      `
Each file may hold several documents separated by ---. Manifests are checked before
anything is sent; an error names the file, the line and the field, and nothing is stored.
An apply is all or nothing, and answers once its change is durable on the hub; placement
follows within moments (see get/describe/events). With --wait it answers after the placement
pass that includes the change.

Examples:
  edgepilot apply -f tilt-reader.yaml
  edgepilot apply -f manifests/ --wait
  cat workload.yaml | edgepilot apply -f -`,
    )
    .action(async (options: { filename: string[]; wait?: boolean }, command: Command) => {
      const manifests = await loadManifests(options.filename, readStdin);
      const client = await hubClientFor(command);
      const path = options.wait ? '/v1/apply?wait=true' : '/v1/apply';
      const result = await client.request('POST', path, applyResultSchema, { manifests: manifests.map((m) => m.value) });
      for (const r of result.results) print(`${r.kind.toLowerCase()}/${r.name} ${r.action}`);
    });
}
