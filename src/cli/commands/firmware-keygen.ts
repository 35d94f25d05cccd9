import { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { generateSigningKeyPair } from '../../firmware/index.js';
import { print } from '../context.js';
import { CliError } from '../errors.js';
import { errnoCode, errorMessage } from '../../common/errors.js';

export function firmwareKeygenCommand(): Command {
  return new Command('keygen')
    .description('Create an Ed25519 key pair for signing firmware')
    .option('--out <prefix>', 'writes <prefix>.key (private, 0600) and <prefix>.pub', 'firmware-signing')
    .addHelpText(
      'after',
      `
Keep the .key where builds are signed. Give the .pub to the hub (edgepilot hub --firmware-key,
or edgepilot firmware trust) and to every gateway (edgepilot agent --trust-key).

Examples:
  edgepilot firmware keygen
  edgepilot firmware keygen --out /secure/plant-3-firmware`,
    )
    .action(async (options: { out: string }) => {
      const pair = generateSigningKeyPair();
      const keyFile = `${options.out}.key`;
      const pubFile = `${options.out}.pub`;
      try {
        await writeFile(keyFile, pair.privateKeyPem, { flag: 'wx', mode: 0o600 });
        await writeFile(pubFile, pair.publicKeyPem, { flag: 'wx' });
      } catch (err) {
        const path = typeof err === 'object' && err !== null && 'path' in err && typeof err.path === 'string' ? err.path : options.out;
        throw new CliError(errnoCode(err) === 'EEXIST' ? `${path} exists; not overwriting a key` : `cannot write the key: ${errorMessage(err)}`);
      }
      print(`key ${pair.keyId}: private ${keyFile}, public ${pubFile}`);
    });
}
