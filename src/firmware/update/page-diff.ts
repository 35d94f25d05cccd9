/**
 * Which flash pages a new image changes, given the image the gateway knows is on the chip
 * (the one it flashed last, kept-images.ts): only those are erased and written. Pure.
 */
import type { FirmwareImage } from '../image/image.js';
import { createImage, flattenImage } from '../image/image.js';

export interface PageDiff {
  /** Only the changed pages' bytes of the new image: what must be written. */
  readonly image: FirmwareImage;
  /** Page numbers (from flashBase) to erase: the changed ones and those only the old image used. */
  readonly erasePages: readonly number[];
  /** Pages of the new image left as they are. */
  readonly unchangedPages: number;
}

export interface OnChip {
  readonly loadAddress: number;
  readonly data: Uint8Array;
}

/**
 * undefined when the kept image does not start where the new one does (nothing to
 * compare page for page). A page counts as changed when any byte of it differs; bytes
 * past the end of either image compare as erased (0xFF).
 */
export function diffPages(next: FirmwareImage, onChip: OnChip, geometry: { readonly flashBase: number; readonly pageSize: number }): PageDiff | undefined {
  const flat = flattenImage(next);
  if (flat.data.length === 0 || flat.address !== onChip.loadAddress) return undefined;
  const { pageSize, flashBase } = geometry;
  const offset = flat.address - flashBase;
  if (offset < 0 || offset % pageSize !== 0) return undefined;
  const span = Math.max(flat.data.length, onChip.data.length);
  const segments: { address: number; data: Uint8Array }[] = [];
  const erasePages: number[] = [];
  let unchangedPages = 0;
  for (let start = 0; start < span; start += pageSize) {
    const end = Math.min(start + pageSize, span);
    let same = true;
    for (let i = start; i < end && same; i++) same = (flat.data[i] ?? 0xff) === (onChip.data[i] ?? 0xff);
    const page = (offset + start) / pageSize;
    if (same) {
      if (start < flat.data.length) unchangedPages++;
      continue;
    }
    erasePages.push(page);
    if (start < flat.data.length) segments.push({ address: flat.address + start, data: flat.data.subarray(start, Math.min(end, flat.data.length)) });
  }
  return { image: createImage(segments), erasePages, unchangedPages };
}
