import { Command } from 'commander';
import { firmwareKeyRemovedSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { readPublicKeyFile } from '../firmware/public-key-file.js';

const KEY_ID = /^[0-9a-f]{16}$/;

export function firmwareUntrustCommand(): Command {
  return new Command('untrust')
    .description('Remove a key from the hub\'s trusted firmware keys')
    .argument('<key>', 'key id (16 hex digits, as edgepilot firmware keys shows) or the public key file')
    .addHelpText(
      'after',
      `
The removal is durable. From then on the hub refuses uploads signed by the key, and it keeps
the images already stored that the key signed but no longer serves them to gateways (edgepilot
firmware list marks them "untrusted"); pushing the same image signed by a trusted key, or trusting
the key again, serves them again. MCUs already flashed keep running what they run. Gateways and
edgepilot flash --port check signatures with their own --trust-key files, which this does not
change: remove the key file there too. A key given with edgepilot hub --firmware-key cannot be
removed here; restart the hub without that flag.

Examples:
  edgepilot firmware untrust 3f9a0c2b71d4e655
  edgepilot firmware untrust old-signing.pub`,
    )
    .action(async (key: string, _options: unknown, command: Command) => {
      const keyId = KEY_ID.test(key) ? key : (await readPublicKeyFile(key)).keyId;
      const client = await hubClientFor(command);
      const removed = await client.request('DELETE', `/v1/firmware/keys/${keyId}`, firmwareKeyRemovedSchema);
      const images = removed.imagesNoLongerServed;
      const note =
        images.length === 0
          ? 'no stored image is signed by it'
          : `${images.length} stored image(s) signed by it are no longer served to gateways: ${images.map((i) => `${i.target} ${i.version}`).join(', ')}`;
      print(`hub no longer trusts firmware key ${removed.keyId}; ${note}`);
    });
}
