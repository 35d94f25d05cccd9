/**
 * The BSDF2 patch container (the bsdiff variant Android's update_engine and Chromium OS
 * write): bsdiff 4's three streams — control triples, "diff" bytes added to the old file,
 * "extra" bytes copied in — each compressed on its own, here with brotli (type 2), which
 * Node has built in; BSDIFF40 needs bzip2, which it has not.
 *
 *   0   5  "BSDF2"
 *   5   3  compression type of the control, diff and extra streams (0 none, 1 bzip2, 2 brotli)
 *   8   8  length X of the compressed control stream
 *   16  8  length Y of the compressed diff stream
 *   24  8  size of the new file
 *   32  X  control stream: (diff length, extra length, old-position step) per entry, 8 bytes each
 *   32+X Y diff stream, then the extra stream to the end
 *
 * Every 8-byte integer is bsdiff's: little-endian magnitude, sign in the top bit of the last byte.
 */
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib';
import { DeltaError } from './delta-error.js';
import { errnoCode } from '../../common/errors.js';

export const BSDF2_MAGIC = 'BSDF2';
export const HEADER_BYTES = 32;
export const CONTROL_ENTRY_BYTES = 24;

export const Compression = { none: 0, bzip2: 1, brotli: 2 } as const;
export type CompressionType = (typeof Compression)[keyof typeof Compression];

export interface ControlEntry {
  /** Bytes made by adding diff bytes to old bytes. */
  readonly diff: number;
  /** Bytes copied from the extra stream. */
  readonly extra: number;
  /** How far the old position moves after those (may be negative). */
  readonly seek: number;
}

export interface PatchStreams {
  readonly control: readonly ControlEntry[];
  readonly diff: Uint8Array;
  readonly extra: Uint8Array;
  readonly newSize: number;
}

/** bsdiff's `offtout`: sign-magnitude, little-endian. Safe for |value| < 2^53. */
export function writeOfft(value: number, into: Uint8Array, at: number): void {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${value} is not a safe integer`);
  let magnitude = Math.abs(value);
  for (let i = 0; i < 8; i++) {
    into[at + i] = magnitude % 256;
    magnitude = Math.floor(magnitude / 256);
  }
  if (value < 0) into[at + 7] = (into[at + 7] as number) | 0x80;
}

/** bsdiff's `offtin`; values beyond 2^53 are refused rather than rounded. */
export function readOfft(from: Uint8Array, at: number): number {
  if (at + 8 > from.length) throw new DeltaError('truncated', 'the patch ends inside an integer');
  const top = from[at + 7] as number;
  let magnitude = top & 0x7f;
  if (magnitude > 0x1f) throw new DeltaError('corrupt', 'an integer in the patch is beyond 2^53');
  for (let i = 6; i >= 0; i--) magnitude = magnitude * 256 + (from[at + i] as number);
  return top & 0x80 ? -magnitude : magnitude;
}

export function encodeBsdf2(streams: PatchStreams, compression: CompressionType = Compression.brotli): Uint8Array {
  const control = new Uint8Array(streams.control.length * CONTROL_ENTRY_BYTES);
  streams.control.forEach((entry, i) => {
    writeOfft(entry.diff, control, i * CONTROL_ENTRY_BYTES);
    writeOfft(entry.extra, control, i * CONTROL_ENTRY_BYTES + 8);
    writeOfft(entry.seek, control, i * CONTROL_ENTRY_BYTES + 16);
  });
  const parts = [control, streams.diff, streams.extra].map((s) => compress(s, compression));
  const [c, d, e] = parts as [Uint8Array, Uint8Array, Uint8Array];
  const out = new Uint8Array(HEADER_BYTES + c.length + d.length + e.length);
  out.set(new TextEncoder().encode(BSDF2_MAGIC), 0);
  out.set([compression, compression, compression], 5);
  writeOfft(c.length, out, 8);
  writeOfft(d.length, out, 16);
  writeOfft(streams.newSize, out, 24);
  out.set(c, HEADER_BYTES);
  out.set(d, HEADER_BYTES + c.length);
  out.set(e, HEADER_BYTES + c.length + d.length);
  return out;
}

/**
 * Reads a BSDF2 patch. `maxNewSize` bounds what the patch may claim to make and so what
 * its streams may inflate to (a patch is untrusted input until the result's digest matches).
 */
export function decodeBsdf2(patch: Uint8Array, maxNewSize: number): PatchStreams {
  if (patch.length < HEADER_BYTES) throw new DeltaError('truncated', `a BSDF2 patch has a ${HEADER_BYTES}-byte header; this one has ${patch.length} bytes`);
  const magic = new TextDecoder().decode(patch.subarray(0, 5));
  if (magic !== BSDF2_MAGIC) {
    const legacy = new TextDecoder().decode(patch.subarray(0, 8)) === 'BSDIFF40';
    throw new DeltaError(legacy ? 'unsupported-compression' : 'bad-magic', legacy ? 'BSDIFF40 patches (bzip2 streams) are not read here: use BSDF2 with brotli' : 'not a BSDF2 patch');
  }
  const types = [patch[5], patch[6], patch[7]] as number[];
  for (const type of types) {
    if (type !== Compression.none && type !== Compression.brotli) throw new DeltaError('unsupported-compression', `stream compression type ${type} is not read here (0 none and 2 brotli are)`);
  }
  const controlLength = readOfft(patch, 8);
  const diffLength = readOfft(patch, 16);
  const newSize = readOfft(patch, 24);
  if (controlLength < 0 || diffLength < 0 || newSize < 0) throw new DeltaError('corrupt', 'negative length in the patch header');
  if (newSize > maxNewSize) throw new DeltaError('size-mismatch', `the patch makes ${newSize} bytes; at most ${maxNewSize} are expected`);
  if (HEADER_BYTES + controlLength + diffLength > patch.length) throw new DeltaError('truncated', 'the patch ends inside its control or diff stream');
  const controlEnd = HEADER_BYTES + controlLength;
  const diffEnd = controlEnd + diffLength;
  // One control entry per run of diff or extra bytes at the least: never more than newSize + 1 entries.
  const control = decompress(patch.subarray(HEADER_BYTES, controlEnd), types[0] as CompressionType, (newSize + 1) * CONTROL_ENTRY_BYTES, 'control');
  const diff = decompress(patch.subarray(controlEnd, diffEnd), types[1] as CompressionType, newSize, 'diff');
  const extra = decompress(patch.subarray(diffEnd), types[2] as CompressionType, newSize, 'extra');
  if (control.length % CONTROL_ENTRY_BYTES !== 0) throw new DeltaError('corrupt', `the control stream is ${control.length} bytes, not whole entries of ${CONTROL_ENTRY_BYTES}`);
  const entries: ControlEntry[] = [];
  for (let at = 0; at < control.length; at += CONTROL_ENTRY_BYTES) {
    entries.push({ diff: readOfft(control, at), extra: readOfft(control, at + 8), seek: readOfft(control, at + 16) });
  }
  return { control: entries, diff, extra, newSize };
}

function compress(data: Uint8Array, type: CompressionType): Uint8Array {
  if (type === Compression.none) return data;
  if (type === Compression.brotli) {
    return new Uint8Array(
      brotliCompressSync(data, {
        params: { [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY, [zlib.BROTLI_PARAM_SIZE_HINT]: data.length, [zlib.BROTLI_PARAM_MODE]: zlib.BROTLI_MODE_GENERIC },
      }),
    );
  }
  throw new DeltaError('unsupported-compression', `compression type ${type} is not written here`);
}

function decompress(data: Uint8Array, type: CompressionType, limit: number, what: string): Uint8Array {
  if (type === Compression.none) {
    if (data.length > limit) throw new DeltaError('corrupt', `the ${what} stream is longer than the new file allows`);
    return data;
  }
  try {
    // maxOutputLength turns a stream that inflates past what the new file allows into an error, not an allocation.
    return new Uint8Array(brotliDecompressSync(data, { maxOutputLength: Math.max(limit, 1) }));
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new DeltaError('corrupt', `the ${what} stream inflates beyond what the new file allows`);
    throw new DeltaError('corrupt', `the ${what} stream is not valid brotli (${code ?? 'error'})`);
  }
}
