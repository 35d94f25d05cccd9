/**
 * `edgepilot flash --image <sha|version>`: which stored image is meant. Pure. A version is
 * looked up among the images built for the MCU's model; a sha (or a unique prefix of at
 * least 8 digits) is taken as given, whatever its target: refusing a wrong target is the
 * gateway's decision, made against its own trust anchors, not the hub's.
 */
import type { StoredFirmware } from '../firmware/firmware-store.js';

export type Resolution = { readonly ok: true; readonly entry: StoredFirmware } | { readonly ok: false; readonly message: string };

export function resolveImage(wanted: string, model: string, images: readonly StoredFirmware[]): Resolution {
  const text = wanted.trim().toLowerCase();
  if (/^[0-9a-f]{8,64}$/.test(text)) {
    const matches = images.filter((f) => f.manifest.sha256.startsWith(text));
    if (matches.length === 1 && matches[0]) return { ok: true, entry: matches[0] };
    if (matches.length > 1) return { ok: false, message: `image ${wanted} is ambiguous: ${matches.length} images start with it` };
  }
  const forModel = images.filter((f) => f.manifest.target.toLowerCase() === model.toLowerCase());
  const byVersion = forModel.find((f) => f.manifest.version === wanted.trim().replace(/^v/, ''));
  if (byVersion) return { ok: true, entry: byVersion };
  const versions = forModel.map((f) => f.manifest.version);
  return {
    ok: false,
    message: `no firmware image ${wanted} for ${model}${versions.length > 0 ? ` (available: ${versions.join(', ')})` : ' (push one with edgepilot firmware push)'}`,
  };
}
