/** Binary deltas between firmware images: bsdiff 4's algorithm in the BSDF2 container (brotli streams). */
export { makeDelta, diffStreams } from './bsdiff.js';
export { applyDelta, type ApplyOptions } from './bspatch.js';
export { encodeBsdf2, decodeBsdf2, readOfft, writeOfft, Compression, BSDF2_MAGIC, type CompressionType, type ControlEntry, type PatchStreams } from './bsdf2-format.js';
export { suffixArray } from './suffix-array.js';
export { DeltaError, type DeltaErrorCode } from './delta-error.js';
