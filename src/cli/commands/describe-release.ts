import { Command } from 'commander';
import { listSchema, releaseViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { renderDescribe, type DescribeEntry } from '../output/describe.js';
import { parseOutputFormat, renderObject } from '../output/format.js';

export function describeReleaseCommand(): Command {
  return new Command('release')
    .description('Show a release: its digest, workload templates, firmware, gate verdict')
    .argument('<name>', 'NAME (every version) or NAME@VERSION')
    .option('-o, --output <format>', 'json | yaml')
    .addHelpText('after', '\nExamples:\n  edgepilot describe release tilt\n  edgepilot describe release tilt@2.1.0 -o yaml')
    .action(async (ref: string, options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', `/v1/releases/${encodeURIComponent(ref)}`, listSchema(releaseViewSchema));
      if (format === 'json' || format === 'yaml') return print(renderObject(list.items.length === 1 ? list.items[0] : { kind: 'List', items: list.items }, format));
      print(
        list.items
          .map((r) => {
            const entries: DescribeEntry[] = [
              ['Name', r.name],
              ['Version', r.version],
              ['Digest', r.digest],
              ['Created', r.createdAt],
              ['Devices', String(r.devices)],
              ['HIL gate', r.gate === null ? '<none>' : `${r.gate.result} (${r.gate.at}, rollout ${r.gate.rollout}): ${r.gate.reason}`],
              ['Workloads', Object.entries(r.spec?.workloads ?? {}).map(([n, t]) => `${n}: ${t.runtime === 'container' ? t.image : t.command.join(' ')}`)],
              ['Firmware', r.firmware.map((f) => `${f.mcuModel} ${f.version} (sha256 ${f.sha256.slice(0, 12)}…)`)],
            ];
            return renderDescribe(entries);
          })
          .join('\n\n'),
      );
    });
}
