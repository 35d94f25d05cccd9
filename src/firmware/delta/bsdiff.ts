/**
 * Making a delta, bsdiff 4's way (Colin Percival, "Naive differences of executable code"):
 * find long exact matches of the new file in the old one with a suffix array, extend each
 * match forwards and backwards as long as at least half the bytes still agree, and store
 * the extended stretch as byte-wise differences ("diff": mostly zeros where code merely
 * moved, so it compresses well) and what lies between stretches as new bytes ("extra").
 * The result is a BSDF2 patch (bsdf2-format.ts).
 */
import { Compression, encodeBsdf2, type CompressionType, type ControlEntry } from './bsdf2-format.js';
import { suffixArray } from './suffix-array.js';

/** A match shorter than this many bytes beyond what the current alignment already explains is not worth a jump. */
const JUMP_GAIN = 8;

export function makeDelta(older: Uint8Array, newer: Uint8Array, compression: CompressionType = Compression.brotli): Uint8Array {
  return encodeBsdf2(diffStreams(older, newer), compression);
}

/** The three bsdiff streams for turning `older` into `newer` (exported for tests). */
export function diffStreams(older: Uint8Array, newer: Uint8Array): { control: ControlEntry[]; diff: Uint8Array; extra: Uint8Array; newSize: number } {
  const index = suffixArray(older);
  const control: ControlEntry[] = [];
  const diff = new Uint8Array(newer.length);
  const extra = new Uint8Array(newer.length);
  let diffLength = 0;
  let extraLength = 0;

  let scan = 0;
  let matchLength = 0;
  let matchAt = 0;
  let lastScan = 0;
  let lastPos = 0;
  let lastOffset = 0;
  while (scan < newer.length) {
    // Look for the next place where an exact match beats the current alignment (old = new + lastOffset).
    let aligned = 0;
    scan += matchLength;
    let counted = scan;
    for (; scan < newer.length; scan++) {
      const found = longestMatch(index, older, newer, scan);
      matchLength = found.length;
      matchAt = found.at;
      for (; counted < scan + matchLength; counted++) {
        if (sameAt(older, counted + lastOffset, newer[counted] as number)) aligned++;
      }
      if ((matchLength === aligned && matchLength !== 0) || matchLength > aligned + JUMP_GAIN) break;
      if (sameAt(older, scan + lastOffset, newer[scan] as number)) aligned--;
    }
    if (matchLength === aligned && scan !== newer.length) continue;

    // Extend the previous match forwards while at least half its bytes agree...
    let forward = 0;
    for (let i = 0, agree = 0, best = 0; lastScan + i < scan && lastPos + i < older.length; ) {
      if (older[lastPos + i] === newer[lastScan + i]) agree++;
      i++;
      if (agree * 2 - i > best * 2 - forward) {
        best = agree;
        forward = i;
      }
    }
    // ...and the new one backwards the same way.
    let backward = 0;
    if (scan < newer.length) {
      for (let i = 1, agree = 0, best = 0; scan >= lastScan + i && matchAt >= i; i++) {
        if (older[matchAt - i] === newer[scan - i]) agree++;
        if (agree * 2 - i > best * 2 - backward) {
          best = agree;
          backward = i;
        }
      }
    }
    // Where the two extensions overlap, split them where the most bytes agree with their own side.
    if (lastScan + forward > scan - backward) {
      const overlap = lastScan + forward - (scan - backward);
      let score = 0;
      let bestScore = 0;
      let split = 0;
      for (let i = 0; i < overlap; i++) {
        if (newer[lastScan + forward - overlap + i] === older[lastPos + forward - overlap + i]) score++;
        if (newer[scan - backward + i] === older[matchAt - backward + i]) score--;
        if (score > bestScore) {
          bestScore = score;
          split = i + 1;
        }
      }
      forward += split - overlap;
      backward -= split;
    }

    for (let i = 0; i < forward; i++) diff[diffLength + i] = ((newer[lastScan + i] as number) - (older[lastPos + i] as number)) & 0xff;
    const between = scan - backward - (lastScan + forward);
    for (let i = 0; i < between; i++) extra[extraLength + i] = newer[lastScan + forward + i] as number;
    diffLength += forward;
    extraLength += between;
    control.push({ diff: forward, extra: between, seek: matchAt - backward - (lastPos + forward) });

    lastScan = scan - backward;
    lastPos = matchAt - backward;
    lastOffset = matchAt - scan;
  }
  return { control, diff: diff.slice(0, diffLength), extra: extra.slice(0, extraLength), newSize: newer.length };
}

function sameAt(older: Uint8Array, at: number, byte: number): boolean {
  return at >= 0 && at < older.length && older[at] === byte;
}

/** Length of the common prefix of older[a..] and newer[b..]. */
function commonLength(older: Uint8Array, a: number, newer: Uint8Array, b: number): number {
  let n = 0;
  while (a + n < older.length && b + n < newer.length && older[a + n] === newer[b + n]) n++;
  return n;
}

/** The longest prefix of newer[from..] found anywhere in `older`, by binary search over its suffix array. */
function longestMatch(index: Int32Array, older: Uint8Array, newer: Uint8Array, from: number): { at: number; length: number } {
  if (index.length === 0) return { at: 0, length: 0 };
  let low = 0;
  let high = index.length - 1;
  while (high - low > 1) {
    const middle = (low + high) >> 1;
    const at = index[middle] as number;
    const common = commonLength(older, at, newer, from);
    // Compare the suffix with newer[from..] to steer the search (a suffix that ends first sorts first).
    const olderEnded = at + common >= older.length;
    const newerEnded = from + common >= newer.length;
    const olderFirst = newerEnded ? false : olderEnded || (older[at + common] as number) < (newer[from + common] as number);
    if (olderFirst) low = middle;
    else high = middle;
  }
  const lowAt = index[low] as number;
  const highAt = index[high] as number;
  const lowLength = commonLength(older, lowAt, newer, from);
  const highLength = commonLength(older, highAt, newer, from);
  return lowLength >= highLength ? { at: lowAt, length: lowLength } : { at: highAt, length: highLength };
}
