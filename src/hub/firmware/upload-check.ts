/**
 * May the hub store this upload? Pure: the same verifyFirmware a gateway runs, against the
 * hub's trusted keys, with the manifest's own target (which MCU will run it is the
 * gateway's question). An upload must also not give a target's version a second image:
 * `edgepilot flash --image <version>` has to mean one thing.
 */
import { parseRawBinary, verifyFirmware, type FirmwareImage } from '../../firmware/index.js';
import type { FirmwareUpload } from '../../protocol/index.js';

export type UploadVerdict =
  | { readonly ok: true; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly status: 400 | 409; readonly message: string };

export function checkUpload(
  upload: FirmwareUpload,
  trustedKeys: readonly string[],
  existingShaForVersion: string | undefined,
): UploadVerdict {
  const { manifest, signature } = upload;
  if (trustedKeys.length === 0) {
    return { ok: false, status: 400, message: 'this hub trusts no firmware keys: start it with --firmware-key <pem> or add one with POST /v1/firmware/keys' };
  }
  const bytes = new Uint8Array(Buffer.from(upload.image, 'base64'));
  let image: FirmwareImage;
  try {
    image = parseRawBinary(bytes, manifest.loadAddress);
  } catch (err) {
    return { ok: false, status: 400, message: `image: ${(err as Error).message}` };
  }
  const verdict = verifyFirmware({ manifest, signature, image, trustedKeys, expectTarget: manifest.target });
  if (!verdict.ok) {
    const hint = verdict.reason === 'unknown-key' ? ' (add the public key with --firmware-key or POST /v1/firmware/keys)' : '';
    return { ok: false, status: 400, message: `${verdict.reason}: ${verdict.message}${hint}` };
  }
  if (existingShaForVersion !== undefined && existingShaForVersion !== manifest.sha256) {
    return { ok: false, status: 409, message: `${manifest.target} ${manifest.version} already exists with another image (${existingShaForVersion.slice(0, 12)}); give the new build a new version` };
  }
  return { ok: true, bytes };
}
