/**
 * May the hub store this upload, and what would storing it do? Pure: the same
 * verifyFirmware a gateway runs, against the hub's trusted keys, with the manifest's own
 * target (which MCU will run it is the gateway's question); then the target check the CLI
 * made when signing (the hub does not trust the CLI to have made it); then what the
 * content-addressed store already holds under that sha256 and that target version.
 */
import { parseRawBinary, targetProblem, verifyFirmware, type FirmwareImage, type TargetProblemCode } from '../../firmware/index.js';
import type { FirmwareUpload } from '../../protocol/index.js';
import type { StoredFirmware } from './firmware-store.js';
import { errorMessage } from '../../common/errors.js';

export type UploadRefusalCode =
  | 'no-trusted-keys'
  | 'bad-image'
  | 'verify-failed'
  | TargetProblemCode
  /** Another version or target already has this exact image. */
  | 'image-taken'
  /** This target version already has another image. */
  | 'version-taken';

export type UploadVerdict =
  | { readonly ok: true; readonly bytes: Uint8Array; readonly action: 'store' | 'unchanged' | 're-sign' }
  | { readonly ok: false; readonly status: 400 | 409; readonly code: UploadRefusalCode; readonly message: string };

export interface StoreFacts {
  /** What is stored under the upload's sha256, if anything. */
  readonly sameImage?: StoredFirmware;
  /** sha256 of the image stored for the upload's target and version, if any. */
  readonly sameVersionSha?: string;
  /** Is this key id still trusted? (for an image stored before its key was removed) */
  readonly isTrusted: (keyId: string) => boolean;
}

export function checkUpload(upload: FirmwareUpload, trustedKeys: readonly string[], facts: StoreFacts): UploadVerdict {
  const { manifest, signature } = upload;
  const label = `${manifest.target} ${manifest.version}`;
  if (trustedKeys.length === 0) {
    return refuse(400, 'no-trusted-keys', 'this hub trusts no firmware keys: start it with --firmware-key <pem> or add one with edgepilot firmware trust');
  }
  const bytes = new Uint8Array(Buffer.from(upload.image, 'base64'));
  let image: FirmwareImage;
  try {
    image = bytes.length === 0 ? { segments: [] } : parseRawBinary(bytes, manifest.loadAddress);
  } catch (err) {
    return refuse(400, 'bad-image', `image: ${errorMessage(err)}`);
  }
  const verdict = verifyFirmware({ manifest, signature, image, trustedKeys, expectTarget: manifest.target });
  if (!verdict.ok) {
    const hint = verdict.reason === 'unknown-key' ? ' (add its public key with edgepilot firmware trust)' : '';
    return refuse(400, 'verify-failed', `${verdict.reason}: ${verdict.message}${hint}`);
  }
  const unfit = targetProblem({ target: manifest.target, version: manifest.version, image });
  if (unfit) return refuse(400, unfit.code, unfit.message);

  const stored = facts.sameImage;
  if (stored !== undefined) {
    const was = stored.manifest;
    if (was.target.toLowerCase() !== manifest.target.toLowerCase() || was.version !== manifest.version) {
      return refuse(
        409,
        'image-taken',
        `this image (sha256 ${manifest.sha256.slice(0, 12)}) is already stored as ${was.target} ${was.version}; the store keeps one target and version per image, so ${label} was not stored`,
      );
    }
    // The same image, target and version: keep the stored signature unless its key is gone.
    const action = facts.isTrusted(stored.signature.keyId) ? 'unchanged' : 're-sign';
    return { ok: true, bytes, action };
  }
  if (facts.sameVersionSha !== undefined && facts.sameVersionSha !== manifest.sha256) {
    return refuse(409, 'version-taken', `${label} already exists with another image (${facts.sameVersionSha.slice(0, 12)}); give the new build a new version`);
  }
  return { ok: true, bytes, action: 'store' };
}

function refuse(status: 400 | 409, code: UploadRefusalCode, message: string): UploadVerdict {
  return { ok: false, status, code, message };
}
