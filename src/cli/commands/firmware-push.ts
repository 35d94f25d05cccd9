import { Command } from 'commander';
import { parseRawBinary, type FirmwareImage } from '../../firmware/index.js';
import { firmwareUploadResultSchema, type FirmwareUpload, type FirmwareUploadResult } from '../../protocol/index.js';
import { hubClientFor, print } from '../context.js';
import { CliError } from '../errors.js';
import { isBundleFile, readBundle } from '../firmware/bundle.js';
import { checkImageAgainstTarget, signImageFile } from '../firmware/signing.js';
import { parseOutputFormat, renderObject } from '../output/format.js';
import { errorMessage } from '../../common/errors.js';

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
The image is checked against the target's board profile (known MCU model, semantic version,
not empty, inside the model's flash and starting at its base) here and again by the hub, which
also checks the signature against its trusted keys (edgepilot firmware keys) and stores the
image under its sha256. The answer names what is stored: model, version, sha256, size and signing
key. Nothing stored means a non-zero exit: an unknown key, a version that already has another image,
or an image already stored under another target or version (the store keeps one per image).

Examples:
  edgepilot firmware push build/stm32f103-node-1.2.0.hex --target stm32f103 --version 1.2.0 --key firmware-signing.key
  edgepilot firmware push stm32f103-1.2.0.epfw`,
    )
    .action(async (image: string, options: { target?: string; version?: string; key?: string; loadAddress?: string; output?: string }, command: Command) => {
      const format = options.output === undefined ? undefined : parseOutputFormat(options.output);
      let upload: FirmwareUpload;
      if (isBundleFile(image)) {
        const { bundle, bytes } = await readBundle(image);
        checkImageAgainstTarget(image, bundle.manifest.target, bundle.manifest.version, bundleImage(image, bytes, bundle.manifest.loadAddress));
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
      const result = await client.request('POST', '/v1/firmware', firmwareUploadResultSchema, upload);
      const sent = upload.manifest;
      if (result.sha256 !== sent.sha256 || result.target.toLowerCase() !== sent.target.toLowerCase() || result.version !== sent.version) {
        // The hub refuses such a clash itself; an answer naming another image means nothing of ours was stored.
        throw new CliError(`the hub answered with ${result.target} ${result.version} (${result.sha256.slice(0, 12)}), not ${sent.target} ${sent.version} (${sent.sha256.slice(0, 12)}); nothing stored`);
      }
      if (format === 'json' || format === 'yaml') return print(renderObject(result, format));
      print(describeUpload(result, upload.signature.keyId));
    });
}

/** One line naming exactly what the hub holds now under the upload's sha256. */
export function describeUpload(result: FirmwareUploadResult, signedWith: string): string {
  const what = `${result.target} ${result.version}`;
  const size = `${result.size.toLocaleString('en-US')} bytes`;
  switch (result.outcome) {
    case 'stored':
      return `${what} stored as ${result.sha256} (${size}, key ${result.keyId})`;
    case 're-signed':
      return `${what} was stored as ${result.sha256} signed by a key the hub no longer trusts; it now carries the signature of key ${result.keyId} (${size})`;
    case 'unchanged': {
      const signer = result.keyId === signedWith ? `key ${result.keyId}` : `key ${result.keyId}, not your key ${signedWith}`;
      return `${what} was already stored as ${result.sha256} (${size}, ${signer}, uploaded ${result.uploadedAt}); nothing changed`;
    }
  }
}

function bundleImage(file: string, bytes: Uint8Array, loadAddress: number): FirmwareImage {
  if (bytes.length === 0) return { segments: [] };
  try {
    return parseRawBinary(bytes, loadAddress);
  } catch (err) {
    throw new CliError(`${file}: ${errorMessage(err)}`);
  }
}
