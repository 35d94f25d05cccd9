import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { firmwareKeyViewSchema } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';

export function firmwareTrustCommand(): Command {
  return new Command('trust')
    .description('Register a public key whose firmware signatures the hub accepts for upload')
    .argument('<pem>', 'public key file (the .pub of edgepilot firmware keygen)')
    .addHelpText(
      'after',
      `
Gateways check signatures again with their own keys (edgepilot agent --trust-key).

Examples:
  edgepilot firmware trust firmware-signing.pub`,
    )
    .action(async (file: string, _options: unknown, command: Command) => {
      let pem: string;
      try {
        pem = await readFile(file, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const client = await hubClientFor(command);
      const key = await client.request('POST', '/v1/firmware/keys', firmwareKeyViewSchema, { publicKeyPem: pem });
      print(`hub trusts firmware key ${key.keyId}`);
    });
}
