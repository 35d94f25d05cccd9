import { Command } from 'commander';
import { firmwareImageViewSchema, type FirmwareUpload } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { isBundleFile, readBundle } from '../firmware/bundle.js';
import { signImageFile } from '../firmware/signing.js';
import { parseOutputFormat, renderObject } from '../output/format.js';

export function parseLoadAddress(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) throw new CliError(`--load-address must be a 32-bit address like 0x08000000, not "${text}"`);
  return n;
}

export function firmwarePushCommand(): Command {
  return new Command('push')
    .description("Sign a firmware image and upload it to the hub's firmware store (or upload a signed bundle)")
    .argument('<image>', 'Intel HEX (.hex, .ihx), raw binary, or a signed bundle (.epfw)')
    .option('--target <model>', 'MCU model the image is for, as it identifies (stm32f103, stc89c52)')
    .option('--version <semver>', 'firmware version, as the image reports in IDENTITY')
    .option('--key <pem>', 'private signing key (edgepilot firmware keygen)')
    .option('--load-address <addr>', "address of a raw binary (default: the target's flash base)")
    .option('-o, --output <format>', 'json | yaml (default: one line)')
    .addHelpText(
      'after',
      `
The hub stores the image under its sha256 after checking the signature against its trusted keys.

Examples:
  edgepilot firmware push build/stm32f103-node-1.2.0.hex --target stm32f103 --version 1.2.0 --key firmware-signing.key
  edgepilot firmware push stm32f103-1.2.0.epfw`,
    )
    .action(async (image: string, options: { target?: string; version?: string; key?: string; loadAddress?: string; output?: string }, command: Command) => {
      const format = options.output === undefined ? undefined : parseOutputFormat(options.output);
      let upload: FirmwareUpload;
      if (isBundleFile(image)) {
        const { bundle } = await readBundle(image);
        upload = { manifest: bundle.manifest, signature: bundle.signature, image: bundle.image };
      } else {
        if (!options.target || !options.version || !options.key) throw new CliError('--target, --version and --key are needed to sign an image (or push a .epfw bundle)');
        const signed = await signImageFile(image, {
          target: options.target,
          version: options.version,
          keyFile: options.key,
          ...(options.loadAddress ? { loadAddress: parseLoadAddress(options.loadAddress) } : {}),
          now: new Date(),
        });
        upload = { manifest: signed.manifest, signature: signed.signature, image: Buffer.from(signed.bytes).toString('base64') };
      }
      const client = await hubClientFor(command);
      const view = await client.request('POST', '/v1/firmware', firmwareImageViewSchema, upload);
      if (format === 'json' || format === 'yaml') return print(renderObject(view, format));
      print(`${view.target} ${view.version} stored as ${view.sha256} (${view.size} bytes, key ${view.keyId})`);
    });
}
