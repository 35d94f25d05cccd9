import { Command } from 'commander';
import { print } from '../context.js';
import { writeBundle } from '../firmware/bundle.js';
import { signImageFile } from '../firmware/signing.js';
import { parseLoadAddress } from './firmware-push.js';

export function firmwareSignCommand(): Command {
  return new Command('sign')
    .description('Sign a firmware image into a bundle file (.epfw) for flashing on site or pushing later')
    .argument('<image>', 'Intel HEX (.hex, .ihx) or raw binary')
    .requiredOption('--target <model>', 'MCU model the image is for, as it identifies (stm32f103, stc89c52)')
    .requiredOption('--version <semver>', 'firmware version, as the image reports in IDENTITY')
    .requiredOption('--key <pem>', 'private signing key (edgepilot firmware keygen)')
    .option('-o, --out <file>', 'bundle file to write (default: <target>-<version>.epfw)')
    .option('--load-address <addr>', 'address of a raw binary (default: the target\'s flash base)')
    .addHelpText(
      'after',
      `
The image is checked against the target's board profile before it is signed: a known MCU model
(stm32f103, stc89c52), a semantic version, not empty, every segment inside the model's flash,
starting at the flash base (where the bootloader jumps). The hub checks the same on push.

Examples:
  edgepilot firmware sign build/stm32f103-node-1.2.0.hex --target stm32f103 --version 1.2.0 --key firmware-signing.key
  edgepilot flash --port /dev/ttyUSB0 stm32f103-1.2.0.epfw --trust-key firmware-signing.pub`,
    )
    .action(async (image: string, options: { target: string; version: string; key: string; out?: string; loadAddress?: string }) => {
      const signed = await signImageFile(image, {
        target: options.target,
        version: options.version,
        keyFile: options.key,
        ...(options.loadAddress ? { loadAddress: parseLoadAddress(options.loadAddress) } : {}),
        now: new Date(),
      });
      const out = options.out ?? `${options.target}-${options.version}.epfw`;
      await writeBundle(out, signed);
      print(`${out}: ${signed.manifest.target} ${signed.manifest.version}, ${signed.manifest.size} bytes, sha256 ${signed.manifest.sha256}, key ${signed.signature.keyId}`);
    });
}
