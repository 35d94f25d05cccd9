/**
 * The single decision "may this image be flashed onto this MCU?", with a precise
 * reason when not, so the agent can report it and the CLI can print it verbatim.
 * Order: who signed it, is the signature good, is the manifest well formed, does
 * the image match it, is it for this MCU, is it an upgrade.
 */
import type { KeyObject } from 'node:crypto';
import type { FirmwareImage } from '../image/image.js';
import { imageSha256, imageSize } from '../image/image.js';
import type { FirmwareManifest } from './manifest.js';
import { manifestProblem } from './manifest.js';
import { compareSemver, isSemver } from './semver.js';
import type { ManifestSignature } from './signing.js';
import { keyIdOf, verifyManifestSignature } from './signing.js';

export type VerifyFailureReason =
  | 'unknown-key'
  | 'bad-signature'
  | 'invalid-manifest'
  | 'size-mismatch'
  | 'hash-mismatch'
  | 'wrong-target'
  | 'downgrade'
  | 'same-version';

export type VerifyResult =
  | {
      readonly ok: true;
      readonly manifest: FirmwareManifest;
      readonly keyId: string;
      /** Set when `force` overrode a version check. */
      readonly forced?: 'downgrade' | 'same-version';
    }
  | { readonly ok: false; readonly reason: VerifyFailureReason; readonly message: string };

export interface VerifyFirmwareInput {
  /** As received (parsed JSON); validated here after the signature. */
  readonly manifest: unknown;
  readonly signature: ManifestSignature;
  readonly image: FirmwareImage;
  /** Public keys (PEM or KeyObject) this device accepts. */
  readonly trustedKeys: readonly (string | KeyObject)[];
  /** Model the MCU reported (IDENTITY), e.g. 'stc89c52'. */
  readonly expectTarget: string;
  /** Version the MCU runs now; omit when unknown (e.g. MCU stuck in its bootloader). */
  readonly currentVersion?: string;
  /** Allow downgrades and re-flashing the same version. Never overrides integrity or target. */
  readonly force?: boolean;
}

export function verifyFirmware(input: VerifyFirmwareInput): VerifyResult {
  const { signature } = input;
  const key = input.trustedKeys.find((k) => safeKeyId(k) === signature.keyId);
  if (key === undefined) return fail('unknown-key', `manifest is signed by key ${signature.keyId}, which is not trusted here`);
  if (!verifyManifestSignature(input.manifest, signature, key)) {
    return fail('bad-signature', `signature by key ${signature.keyId} does not match the manifest`);
  }
  const problem = manifestProblem(input.manifest);
  if (problem !== undefined) return fail('invalid-manifest', `manifest is invalid: ${problem}`);
  const manifest = input.manifest as FirmwareManifest;

  const size = imageSize(input.image);
  if (size !== manifest.size) return fail('size-mismatch', `image is ${size} bytes, the manifest says ${manifest.size}`);
  const sha256 = imageSha256(input.image);
  if (sha256 !== manifest.sha256) return fail('hash-mismatch', `image sha256 ${sha256} does not match the manifest's ${manifest.sha256}`);

  if (normalizeModel(manifest.target) !== normalizeModel(input.expectTarget)) {
    return fail('wrong-target', `image is for ${manifest.target}, MCU is ${input.expectTarget}`);
  }

  const keyId = signature.keyId;
  const current = input.currentVersion;
  if (current === undefined || !isSemver(current)) return { ok: true, manifest, keyId };
  const order = compareSemver(manifest.version, current);
  if (order < 0) {
    if (input.force === true) return { ok: true, manifest, keyId, forced: 'downgrade' };
    return fail('downgrade', `${manifest.version} is older than the running ${current}; use --force`);
  }
  if (order === 0) {
    if (input.force === true) return { ok: true, manifest, keyId, forced: 'same-version' };
    return fail('same-version', `${manifest.version} is already running; use --force to flash it again`);
  }
  return { ok: true, manifest, keyId };
}

function fail(reason: VerifyFailureReason, message: string): VerifyResult {
  return { ok: false, reason, message };
}

/** A malformed trusted key must not stop the other trusted keys from working. */
function safeKeyId(key: string | KeyObject): string | undefined {
  try {
    return keyIdOf(key);
  } catch {
    return undefined;
  }
}

/** Model strings come from firmware and from humans: compare case-insensitively. */
function normalizeModel(model: string): string {
  return model.trim().toLowerCase();
}
