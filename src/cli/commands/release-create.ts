import { Command } from 'commander';
import { applyResultSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { loadManifests, readStdin } from '../manifests.js';

export function releaseCreateCommand(): Command {
  return new Command('create')
    .description('Store a release (an immutable, versioned bundle of workload templates and MCU firmware)')
    .requiredOption('-f, --filename <path...>', 'a file, a folder of .yaml files, or - for stdin (kind: Release)')
    .addHelpText(
      'after',
      `
A release cannot change once stored: the same content again is "unchanged"; other content under
the same name and spec.version is refused (give it a new version).

Examples:
  edgepilot release create -f tilt-2.1.0.yaml
  edgepilot get releases`,
    )
    .action(async (options: { filename: string[] }, command: Command) => {
      const manifests = await loadManifests(options.filename, readStdin);
      const other = manifests.find((m) => (m.value as { kind?: unknown }).kind !== 'Release');
      if (other) throw new CliError(`${other.source}:${other.line}: kind: ${JSON.stringify((other.value as { kind?: unknown }).kind)} is not a Release (use edgepilot apply -f for other kinds)`);
      const client = await hubClientFor(command);
      const result = await client.request('POST', '/v1/apply', applyResultSchema, { manifests: manifests.map((m) => m.value) });
      for (const r of result.results) print(`release/${r.name} ${r.action}`);
    });
}
