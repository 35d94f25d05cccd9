import { Command } from 'commander';
import { configObjectViewSchema, listSchema, type ConfigObjectView } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { configObjectColumns } from '../output/config-columns.js';
import { parseOutputFormat, renderList, renderObject } from '../output/format.js';

/** As a manifest again (apiVersion/kind/metadata/data): what `-o yaml` of one object shows. */
function asManifest(c: ConfigObjectView): unknown {
  return {
    apiVersion: 'edgepilot.io/v1',
    kind: c.kind,
    metadata: { name: c.name, ...(Object.keys(c.labels).length > 0 ? { labels: c.labels } : {}), ...(Object.keys(c.annotations).length > 0 ? { annotations: c.annotations } : {}) },
    ...(c.immutable ? { immutable: true } : {}),
    // Without values (a Secret not asked with --show-values): the keys and their sizes only.
    ...(c.data === undefined ? { keys: Object.fromEntries(c.keys.map((k) => [k, `<${c.sizes[k] ?? 0} bytes>`])) } : { data: c.data }),
    ...(c.binaryData !== undefined ? { binaryData: c.binaryData } : {}),
    status: { version: c.version, usedBy: c.usedBy, createdAt: c.createdAt, updatedAt: c.updatedAt },
  };
}

function getCommand(kind: 'ConfigMap' | 'Secret'): Command {
  const plural = kind === 'ConfigMap' ? 'configmaps' : 'secrets';
  const singular = kind === 'ConfigMap' ? 'configmap' : 'secret';
  const command = new Command(plural)
    .aliases(kind === 'ConfigMap' ? ['configmap', 'cm'] : ['secret'])
    .description(kind === 'ConfigMap' ? 'List ConfigMaps, or show one (-o yaml shows its data)' : 'List Secrets, or show one: keys and sizes, values only with --show-values (admin)')
    .argument('[name]', `one ${singular}`)
    .option('-o, --output <format>', 'wide | json | yaml | name');
  if (kind === 'Secret') command.option('--show-values', "show the values (admin only); they are printed in clear, mind your terminal's scrollback");
  return command
    .addHelpText(
      'after',
      kind === 'ConfigMap'
        ? '\nExamples:\n  edgepilot get configmaps\n  edgepilot get configmap app-config -o yaml'
        : '\nExamples:\n  edgepilot get secrets\n  edgepilot get secret db -o yaml\n  edgepilot get secret db -o yaml --show-values',
    )
    .action(async (name: string | undefined, options: { output?: string; showValues?: boolean }, cmd: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(cmd);
      if (name === undefined) {
        if (options.showValues) throw new CliError('--show-values needs a secret name: edgepilot get secret <name> -o yaml --show-values');
        const list = await client.request('GET', `/v1/${plural}`, listSchema(configObjectViewSchema));
        return print(renderList(list.items, format, configObjectColumns, `No ${plural}. Create one with: edgepilot apply -f ${singular}.yaml`));
      }
      const query = options.showValues ? '?showValues=true' : '';
      const one = await client.request('GET', `/v1/${plural}/${encodeURIComponent(name)}${query}`, configObjectViewSchema);
      if (format === 'json' || format === 'yaml') return print(renderObject(asManifest(one), format));
      print(renderList([one], format, configObjectColumns, ''));
    });
}

export const getConfigMapsCommand = (): Command => getCommand('ConfigMap');
export const getSecretsCommand = (): Command => getCommand('Secret');
