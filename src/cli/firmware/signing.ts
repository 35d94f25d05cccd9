/**
 * Turning a build output (Intel HEX or raw binary) into a signed firmware image: parse,
 * flatten, write the manifest, sign it with the Ed25519 key. Used by `firmware push` and
 * `firmware sign`; the image travels flattened, which is what the manifest's sha256 covers.
 */
import { readFile } from 'node:fs/promises';
import {
  createManifest,
  flattenImage,
  loadImageFile,
  signManifest,
  type FirmwareManifest,
  type ManifestSignature,
} from '../../firmware/index.js';
import { flashGeometryFor } from '../../firmware/update/flash-targets.js';
import { CliError } from '../errors.js';

export interface SignedImage {
  readonly manifest: FirmwareManifest;
  readonly signature: ManifestSignature;
  /** The flattened image (gaps 0xFF) from manifest.loadAddress. */
  readonly bytes: Uint8Array;
}

export interface SignOptions {
  readonly target: string;
  readonly version: string;
  readonly keyFile: string;
  /** For raw binaries; defaults to the target's flash base. */
  readonly loadAddress?: number;
  readonly now: Date;
}

export async function signImageFile(imageFile: string, options: SignOptions): Promise<SignedImage> {
  const [fileBytes, keyPem] = await Promise.all([readOrFail(imageFile, 'image'), readOrFail(options.keyFile, 'key')]);
  let loaded: ReturnType<typeof loadImageFile>;
  try {
    const isHex = /\.(hex|ihx)$/i.test(imageFile);
    const loadAddress = options.loadAddress ?? flashGeometryFor(options.target)?.flashBase;
    loaded = loadImageFile(fileBytes, isHex || loadAddress === undefined ? {} : { format: 'bin', loadAddress });
  } catch (err) {
    throw new CliError(`${imageFile}: ${(err as Error).message}`);
  }
  let manifest: FirmwareManifest;
  try {
    manifest = createManifest(loaded.image, { target: options.target, version: options.version, format: loaded.format, createdAt: options.now });
  } catch (err) {
    throw new CliError((err as Error).message.replace(/^invalid manifest: /, ''));
  }
  let signature: ManifestSignature;
  try {
    signature = signManifest(manifest, keyPem.toString('utf8'));
  } catch (err) {
    throw new CliError(`${options.keyFile}: cannot sign with it (${(err as Error).message}); use the private key from edgepilot firmware keygen`);
  }
  return { manifest, signature, bytes: flattenImage(loaded.image).data };
}

async function readOrFail(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new CliError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}
