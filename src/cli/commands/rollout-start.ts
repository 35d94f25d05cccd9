import { Command } from 'commander';
import { applyResultSchema, rolloutViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { loadManifests, readStdin } from '../manifests.js';
import { renderObject } from '../output/format.js';
import { objectOutput } from '../rollout-client.js';

export function rolloutStartCommand(): Command {
  return new Command('start')
    .description('Start a rollout of a release to the devices its selector matches, in waves')
    .requiredOption('-f, --filename <path...>', 'a file, a folder of .yaml files, or - for stdin (kind: Rollout)')
    .option('-o, --output <format>', 'json | yaml: print the rollout(s) as stored')
    .addHelpText(
      'after',
      `
Starting a rollout for devices that another active rollout owns is refused with the owner's name.
Follow it with edgepilot rollout status NAME --watch.

Examples:
  edgepilot rollout start -f rollout.yaml
  edgepilot rollout status tilt-plant3 --watch`,
    )
    .action(async (options: { filename: string[]; output?: string }, command: Command) => {
      const format = objectOutput(options.output);
      const manifests = await loadManifests(options.filename, readStdin);
      const other = manifests.find((m) => (m.value as { kind?: unknown }).kind !== 'Rollout');
      if (other) throw new CliError(`${other.source}:${other.line}: kind: ${JSON.stringify((other.value as { kind?: unknown }).kind)} is not a Rollout (use edgepilot apply -f for other kinds)`);
      const client = await hubClientFor(command);
      const result = await client.request('POST', '/v1/apply', applyResultSchema, { manifests: manifests.map((m) => m.value) });
      if (format === undefined) {
        for (const r of result.results) print(`rollout/${r.name} ${r.action === 'created' ? 'started' : r.action}`);
        return;
      }
      const views = [];
      for (const r of result.results) views.push(await client.request('GET', `/v1/rollouts/${encodeURIComponent(r.name)}`, rolloutViewSchema));
      print(renderObject(views.length === 1 ? views[0] : { kind: 'List', items: views }, format));
    });
}
