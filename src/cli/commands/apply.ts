import { Command } from 'commander';
import { applyResultSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { loadManifests, readStdin } from '../manifests.js';

export function applyCommand(): Command {
  return new Command('apply')
    .description('Create or update workloads from YAML manifests')
    .requiredOption('-f, --filename <path...>', 'a file, a folder of .yaml files, or - for stdin')
    .addHelpText(
      'after',
      `
Each file may hold several documents separated by ---. Manifests are checked before
anything is sent; an error names the file, the line and the field, and nothing is stored.

Examples:
  edgepilot apply -f tilt-reader.yaml
  edgepilot apply -f manifests/
  cat workload.yaml | edgepilot apply -f -`,
    )
    .action(async (options: { filename: string[] }, command: Command) => {
      const manifests = await loadManifests(options.filename, readStdin);
      const client = await hubClientFor(command);
      const result = await client.request('POST', '/v1/apply', applyResultSchema, { manifests: manifests.map((m) => m.value) });
      for (const r of result.results) print(`${r.kind.toLowerCase()}/${r.name} ${r.action}`);
    });
}
