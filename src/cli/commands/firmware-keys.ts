import { Command } from 'commander';
import { firmwareKeyViewSchema, listSchema, type FirmwareKeyView } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { parseOutputFormat, renderList, type Columns } from '../output/format.js';
import { formatAge } from '../output/human.js';

const columns: Columns<FirmwareKeyView> = {
  headers: ['KEY', 'SOURCE', 'ADDED', 'FINGERPRINT (SHA256)'],
  row: (k) => [k.keyId, k.source === 'flag' ? '--firmware-key' : 'api', k.addedAt === undefined ? '-' : `${formatAge(k.addedAt)} ago`, k.fingerprint],
  name: (k) => k.keyId,
};

export function firmwareKeysCommand(): Command {
  return new Command('keys')
    .description('List the public keys whose firmware signatures the hub accepts')
    .option('-o, --output <format>', 'json | yaml | name')
    .addHelpText(
      'after',
      `
KEY is the id signatures name (the first 16 digits of the fingerprint, the sha256 of the raw
Ed25519 public key). SOURCE is api for keys added with edgepilot firmware trust (removable with
edgepilot firmware untrust) and --firmware-key for keys the hub was started with.

Examples:
  edgepilot firmware keys
  edgepilot firmware keys -o json`,
    )
    .action(async (options: { output?: string }, command: Command) => {
      const format = parseOutputFormat(options.output);
      const client = await hubClientFor(command);
      const list = await client.request('GET', '/v1/firmware/keys', listSchema(firmwareKeyViewSchema));
      print(renderList(list.items, format, columns, 'No trusted firmware keys (edgepilot firmware trust <pem>).'));
    });
}
