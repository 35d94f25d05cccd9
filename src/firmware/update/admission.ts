/**
 * "May this image be flashed onto this MCU?" — the whole decision, pure, taken before
 * anything touches the MCU. It is verifyFirmware (signature, manifest, size, hash, target,
 * version) plus what only the updater knows: the image must sit inside the MCU's flash
 * and start at the flash base, where the vector table is that AN3155 Go jumps to.
 */
import type { KeyObject } from 'node:crypto';
import type { FirmwareImage } from '../image/image.js';
import { parseRawBinary } from '../image/raw-binary.js';
import type { FirmwareManifest } from '../manifest/manifest.js';
import type { ManifestSignature } from '../manifest/signing.js';
import type { VerifyFailureReason } from '../manifest/verify.js';
import { verifyFirmware } from '../manifest/verify.js';
import type { FlashGeometry } from './flash-targets.js';
import { flashFitProblem } from './target-check.js';
import { errorMessage } from '../../common/errors.js';

export type RefusalReason = VerifyFailureReason | 'no-trusted-keys' | 'unknown-model' | 'does-not-fit' | 'bad-image';

export type Admission =
  | { readonly ok: true; readonly manifest: FirmwareManifest; readonly image: FirmwareImage; readonly keyId: string; readonly forced?: 'downgrade' | 'same-version' }
  | { readonly ok: false; readonly reason: RefusalReason; readonly message: string };

export interface AdmissionInput {
  /** As received (validated again here, after the signature). */
  readonly manifest: unknown;
  readonly signature: ManifestSignature;
  /** The flattened image bytes as delivered (hub download or bundle file). */
  readonly bytes: Uint8Array;
  readonly trustedKeys: readonly (string | KeyObject)[];
  /** Model the MCU reported in IDENTITY. */
  readonly model: string;
  /** Geometry of that model; undefined when this gateway does not know how to flash it. */
  readonly geometry: FlashGeometry | undefined;
  /** Version the MCU runs now; undefined when unknown (e.g. it sits in its bootloader). */
  readonly currentVersion?: string;
  readonly force?: boolean;
}

export function admitFirmware(input: AdmissionInput): Admission {
  if (input.trustedKeys.length === 0) {
    return refuse('no-trusted-keys', 'no firmware signing key is trusted here (start the agent with --trust-key <pem>)');
  }
  if (input.geometry === undefined) return refuse('unknown-model', `no flash layout known for MCU model ${input.model}`);
  const loadAddress = loadAddressOf(input.manifest);
  if (loadAddress === undefined) return refuse('invalid-manifest', 'manifest has no valid loadAddress');
  let image: FirmwareImage;
  try {
    image = parseRawBinary(input.bytes, loadAddress);
  } catch (err) {
    return refuse('bad-image', `image is unusable: ${errorMessage(err)}`);
  }
  const verdict = verifyFirmware({
    manifest: input.manifest,
    signature: input.signature,
    image,
    trustedKeys: input.trustedKeys,
    expectTarget: input.model,
    ...(input.currentVersion !== undefined ? { currentVersion: input.currentVersion } : {}),
    ...(input.force !== undefined ? { force: input.force } : {}),
  });
  if (!verdict.ok) return verdict;
  const fit = fitProblem(image, input.geometry);
  if (fit !== undefined) return refuse('does-not-fit', fit);
  return { ok: true, manifest: verdict.manifest, image, keyId: verdict.keyId, ...(verdict.forced ? { forced: verdict.forced } : {}) };
}

/** Why `image` cannot be flashed into `geometry`, or undefined if it can (the check sign and push also make). */
export function fitProblem(image: FirmwareImage, geometry: FlashGeometry): string | undefined {
  return flashFitProblem(image, geometry)?.message;
}

function loadAddressOf(manifest: unknown): number | undefined {
  if (typeof manifest !== 'object' || manifest === null) return undefined;
  const value = (manifest as { loadAddress?: unknown }).loadAddress;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0xffff_ffff ? value : undefined;
}

function refuse(reason: RefusalReason, message: string): Admission {
  return { ok: false, reason, message };
}
