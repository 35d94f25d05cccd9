import { Command } from 'commander';
import { configObjectViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { renderDescribe, type DescribeEntry } from '../output/describe.js';
import { formatLabels } from '../output/human.js';
import { parseOutputFormat, renderObject } from '../output/format.js';

function describeCommand(kind: 'ConfigMap' | 'Secret'): Command {
  const plural = kind === 'ConfigMap' ? 'configmaps' : 'secrets';
  const singular = kind === 'ConfigMap' ? 'configmap' : 'secret';
  return new Command(singular)
    .aliases(kind === 'ConfigMap' ? ['configmaps', 'cm'] : ['secrets'])
    .description(`Show a ${kind}: keys and sizes, version and earlier versions (with the releases that pin them), the workloads and jobs that use it${kind === 'Secret' ? ' (never its values)' : ''}`)
    .argument('<name>')
    .option('-o, --output <format>', 'json | yaml')
    .addHelpText('after', `\nExample:\n  edgepilot describe ${singular} ${kind === 'ConfigMap' ? 'app-config' : 'db'}`)
    .action(async (name: string, options: { output?: string }, cmd: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(cmd);
      const c = await client.request('GET', `/v1/${plural}/${encodeURIComponent(name)}`, configObjectViewSchema);
      if (format === 'json' || format === 'yaml') return print(renderObject(c, format));
      const entries: DescribeEntry[] = [
        ['Name', c.name],
        ['Kind', c.kind],
        ['Labels', formatLabels(c.labels) || '<none>'],
        ['Version', c.version],
        ['Immutable', c.immutable ? 'yes' : 'no'],
        ['Created', c.createdAt],
        ['Updated', c.updatedAt],
        ['Keys', c.keys.map((k) => `${k}: ${c.sizes[k] ?? 0} bytes`)],
        ['Used by', c.usedBy.length === 0 ? '<none>' : c.usedBy],
        // Newest first; a release can pin any version listed here (spec.configs).
        ['Versions', c.versions.map((v, i) => `${v.version}  ${v.storedAt}${i === 0 ? '  (current)' : ''}${v.pinnedBy.length > 0 ? `  pinned by ${v.pinnedBy.join(', ')}` : ''}`)],
      ];
      print(renderDescribe(entries));
    });
}

export const describeConfigMapCommand = (): Command => describeCommand('ConfigMap');
export const describeSecretCommand = (): Command => describeCommand('Secret');
