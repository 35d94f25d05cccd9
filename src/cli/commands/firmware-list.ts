import { Command } from 'commander';
import { firmwareImageViewSchema, listSchema, type FirmwareImageView } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderList, type Columns } from '../output/format.js';
import { formatAge } from '../output/human.js';

const columns: Columns<FirmwareImageView> = {
  headers: ['TARGET', 'VERSION', 'SHA256', 'SIZE', 'KEY', 'AGE'],
  row: (f) => [f.target, f.version, f.sha256.slice(0, 12), String(f.size), f.keyTrusted ? f.keyId : `${f.keyId} (untrusted)`, formatAge(f.uploadedAt)],
  name: (f) => f.sha256,
};

export function firmwareListCommand(): Command {
  return new Command('list')
    .alias('ls')
    .description("List the images in the hub's firmware store")
    .option('-o, --output <format>', 'json | yaml | name')
    .addHelpText(
      'after',
      `
An image whose KEY says (untrusted) was signed by a key removed with edgepilot firmware untrust:
the hub keeps it but no longer serves it to gateways.

Examples:
  edgepilot firmware list
  edgepilot firmware list -o json | jq -r '.items[] | select(.target=="stm32f103") | .version'`,
    )
    .action(async (options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/firmware', listSchema(firmwareImageViewSchema));
      print(renderList(list.items, format, columns, 'No firmware images yet (edgepilot firmware push).'));
    });
}
