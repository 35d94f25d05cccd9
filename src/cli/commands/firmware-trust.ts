import { Command } from 'commander';
import { firmwareKeyViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { readPublicKeyFile } from '../firmware/public-key-file.js';

export function firmwareTrustCommand(): Command {
  return new Command('trust')
    .description('Register a public key whose firmware signatures the hub accepts for upload')
    .argument('<pem>', 'public key file (the .pub of edgepilot firmware keygen)')
    .addHelpText(
      'after',
      `
The file must be an Ed25519 public key in PEM form (-----BEGIN PUBLIC KEY-----); a private key
is refused. The hub keeps the key durably; edgepilot firmware keys lists the trusted keys and
edgepilot firmware untrust removes one. Gateways check signatures again with their own keys
(edgepilot agent --trust-key): this does not change what they accept.

Examples:
  edgepilot firmware trust firmware-signing.pub`,
    )
    .action(async (file: string, _options: unknown, command: Command) => {
      const { pem } = await readPublicKeyFile(file);
      const client = await hubClientFor(command);
      const key = await client.request('POST', '/v1/firmware/keys', firmwareKeyViewSchema, { publicKeyPem: pem });
      print(`hub trusts firmware key ${key.keyId}`);
    });
}
