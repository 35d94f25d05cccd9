import { Command } from 'commander';
import { applyResultSchema, listSchema, releaseViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { loadManifests, readStdin } from '../manifests.js';
import { renderObject } from '../output/format.js';
import { objectOutput } from '../rollout-client.js';

export function releaseCreateCommand(): Command {
  return new Command('create')
    .description('Store a release (an immutable, versioned bundle of workload templates and MCU firmware)')
    .requiredOption('-f, --filename <path...>', 'a file, a folder of .yaml files, or - for stdin (kind: Release)')
    .option('-o, --output <format>', 'json | yaml: print the release(s) as stored (with digest)')
    .addHelpText(
      'after',
      `
A release cannot change once stored: the same content again is "unchanged"; other content under
the same name and spec.version is refused (give it a new version).

Examples:
  edgepilot release create -f tilt-2.1.0.yaml
  edgepilot get releases`,
    )
    .action(async (options: { filename: string[]; output?: string }, command: Command) => {
      const format = objectOutput(options.output);
      const manifests = await loadManifests(options.filename, readStdin);
      const other = manifests.find((m) => (m.value as { kind?: unknown }).kind !== 'Release');
      if (other) throw new CliError(`${other.source}:${other.line}: kind: ${JSON.stringify((other.value as { kind?: unknown }).kind)} is not a Release (use edgepilot apply -f for other kinds)`);
      const client = await hubClientFor(command);
      const result = await client.request('POST', '/v1/apply', applyResultSchema, { manifests: manifests.map((m) => m.value) });
      if (format === undefined) {
        for (const r of result.results) print(`release/${r.name} ${r.action}`);
        return;
      }
      // The apply result names releases without their version: the manifests have it.
      const refs = manifests.map((m) => m.value as { metadata: { name: string }; spec: { version: string } }).map((r) => `${r.metadata.name}@${r.spec.version}`);
      const views = [];
      for (const ref of refs) views.push(...(await client.request('GET', `/v1/releases/${encodeURIComponent(ref)}`, listSchema(releaseViewSchema))).items);
      print(renderObject(views.length === 1 ? views[0] : { kind: 'List', items: views }, format));
    });
}
