/**
 * Applying a BSDF2 patch (bsdf2-format.ts) to the old file. The patch is untrusted: every
 * control entry is checked against the new file's size and what is left of its streams,
 * and every stream must be used up exactly. A patch that passes can still make the wrong
 * file (from the wrong base): callers compare the result with the digest they expect.
 */
import { decodeBsdf2 } from './bsdf2-format.js';
import { DeltaError } from './delta-error.js';

export interface ApplyOptions {
  /** The size the caller expects (the manifest's); anything else is refused before work is done. */
  readonly expectedSize: number;
}

export function applyDelta(older: Uint8Array, patch: Uint8Array, options: ApplyOptions): Uint8Array {
  const streams = decodeBsdf2(patch, options.expectedSize);
  if (streams.newSize !== options.expectedSize) {
    throw new DeltaError('size-mismatch', `the patch makes ${streams.newSize} bytes; ${options.expectedSize} are expected`);
  }
  const out = new Uint8Array(streams.newSize);
  let newPos = 0;
  let oldPos = 0;
  let diffPos = 0;
  let extraPos = 0;
  for (const entry of streams.control) {
    if (entry.diff < 0 || entry.extra < 0) throw new DeltaError('corrupt', 'a control entry has a negative length');
    if (newPos + entry.diff > out.length || diffPos + entry.diff > streams.diff.length) throw new DeltaError('corrupt', 'a control entry reaches past the new file or the diff stream');
    for (let i = 0; i < entry.diff; i++) {
      const at = oldPos + i;
      const base = at >= 0 && at < older.length ? (older[at] as number) : 0;
      out[newPos + i] = ((streams.diff[diffPos + i] as number) + base) & 0xff;
    }
    newPos += entry.diff;
    oldPos += entry.diff;
    diffPos += entry.diff;
    if (newPos + entry.extra > out.length || extraPos + entry.extra > streams.extra.length) throw new DeltaError('corrupt', 'a control entry reaches past the new file or the extra stream');
    out.set(streams.extra.subarray(extraPos, extraPos + entry.extra), newPos);
    newPos += entry.extra;
    extraPos += entry.extra;
    oldPos += entry.seek;
  }
  if (newPos !== out.length) throw new DeltaError('corrupt', `the control stream makes ${newPos} of ${out.length} bytes`);
  if (diffPos !== streams.diff.length || extraPos !== streams.extra.length) throw new DeltaError('corrupt', 'bytes left over in the diff or extra stream');
  return out;
}
