/**
 * Turning a build output (Intel HEX or raw binary) into a signed firmware image: parse,
 * flatten, write the manifest, sign it with the Ed25519 key. Used by `firmware push` and
 * `firmware sign`; the image travels flattened, which is what the manifest's sha256 covers.
 */
import { readFile } from 'node:fs/promises';
import {
  assertTargetFits,
  createManifest,
  ManifestError,
  flashGeometryFor,
  flattenImage,
  labelProblem,
  loadImageFile,
  signManifest,
  TargetCheckError,
  type FirmwareImage,
  type FirmwareManifest,
  type ManifestSignature,
} from '../../firmware/index.js';
import { CliError } from '../errors.js';
import { errnoCode, errorMessage } from '../../common/errors.js';

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
  // Target and version first: a typo in a flag should not surface as an image error.
  const labels = labelProblem(options.target, options.version);
  if (labels !== undefined) throw new CliError(labels.message);
  const [fileBytes, keyPem] = await Promise.all([readOrFail(imageFile, 'image'), readOrFail(options.keyFile, 'key')]);
  let loaded: ReturnType<typeof loadImageFile>;
  try {
    const isHex = /\.(hex|ihx)$/i.test(imageFile);
    const loadAddress = options.loadAddress ?? flashGeometryFor(options.target)?.flashBase;
    loaded =
      fileBytes.length === 0
        ? { image: { segments: [] }, format: isHex ? 'hex' : 'bin' } // refused below as empty, with its code
        : loadImageFile(fileBytes, isHex || loadAddress === undefined ? {} : { format: 'bin', loadAddress });
  } catch (err) {
    throw new CliError(`${imageFile}: ${errorMessage(err)}`);
  }
  checkImageAgainstTarget(imageFile, options.target, options.version, loaded.image);
  let manifest: FirmwareManifest;
  try {
    manifest = createManifest(loaded.image, { target: options.target, version: options.version, format: loaded.format, createdAt: options.now });
  } catch (err) {
    throw new CliError(err instanceof ManifestError ? err.problem : errorMessage(err));
  }
  let signature: ManifestSignature;
  try {
    signature = signManifest(manifest, keyPem.toString('utf8'));
  } catch (err) {
    throw new CliError(`${options.keyFile}: cannot sign with it (${errorMessage(err)}); use the private key from edgepilot firmware keygen`);
  }
  return { manifest, signature, bytes: flattenImage(loaded.image).data };
}

/**
 * The board-profile check (target-check.ts) the hub makes again on upload, as a one-line
 * CLI error naming the file: `big.bin: image is 2,097,152 bytes; stm32f103 has 65,536 bytes of flash`.
 */
export function checkImageAgainstTarget(file: string, target: string, version: string, image: FirmwareImage): void {
  try {
    assertTargetFits({ target, version, image });
  } catch (err) {
    if (!(err instanceof TargetCheckError)) throw err;
    const aboutTheFile = err.code !== 'unknown-target' && err.code !== 'bad-version';
    throw new CliError(aboutTheFile ? `${file}: ${err.message}` : err.message);
  }
}

async function readOrFail(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    throw new CliError(`cannot read ${what} ${file}: ${errnoCode(err) ?? errorMessage(err)}`);
  }
}
