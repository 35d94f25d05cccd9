/**
 * The firmware image model shared by the parsers, the manifest and the flashers:
 * a sorted list of contiguous segments plus an optional start address.
 */
import { createHash } from 'node:crypto';
import { parseIntelHex } from './intel-hex.js';
import { parseRawBinary } from './raw-binary.js';
import { flattenImage, ImageError, imageSpan } from './segments.js';

export { createImage, normalizeSegments, ImageError, hex32, flattenImage, imageSpan } from './segments.js';
export type { SourcedSegment } from './segments.js';

export interface Segment {
  readonly address: number;
  readonly data: Uint8Array;
}

/**
 * Where execution starts, as the HEX file said it. Intel HEX has two forms:
 * record 05 (EIP, linear) and record 03 (CS:IP, 8086 real mode).
 */
export type StartAddress =
  | { readonly kind: 'linear'; readonly address: number }
  | { readonly kind: 'segment'; readonly cs: number; readonly ip: number };

/** Sorted by address, non-overlapping, touching runs merged (see normalizeSegments). */
export interface FirmwareImage {
  readonly segments: readonly Segment[];
  readonly start?: StartAddress;
}

export type ImageFormat = 'hex' | 'bin';

/** Number of bytes actually present in the image (gaps not counted). */
export function imageDataSize(image: FirmwareImage): number {
  return image.segments.reduce((n, s) => n + s.data.length, 0);
}

/**
 * Size of the flattened image (first to last byte, gaps included). This is the size
 * the manifest records, because it is what a raw-binary build of the same firmware has.
 */
export function imageSize(image: FirmwareImage): number {
  const span = imageSpan(image);
  return span === undefined ? 0 : span.end - span.start;
}

/** Lower-case hex sha256 of the flattened image (gap fill 0xFF): what manifests sign. */
export function imageSha256(image: FirmwareImage): string {
  return createHash('sha256').update(flattenImage(image).data).digest('hex');
}

export interface LoadImageOptions {
  /** Force a format; otherwise Intel HEX is detected by content. */
  readonly format?: ImageFormat;
  /** Required for raw binaries: they carry no addresses. */
  readonly loadAddress?: number;
}

/** Parse file bytes as Intel HEX or raw binary. */
export function loadImageFile(bytes: Uint8Array, options: LoadImageOptions = {}): { image: FirmwareImage; format: ImageFormat } {
  const format = options.format ?? (looksLikeIntelHex(bytes) ? 'hex' : 'bin');
  if (format === 'hex') {
    if (options.loadAddress !== undefined) throw new ImageError('a load address applies only to raw binaries; Intel HEX carries its own addresses');
    return { image: parseIntelHex(new TextDecoder('latin1').decode(bytes)), format };
  }
  if (options.loadAddress === undefined) throw new ImageError('a raw binary image needs a load address (e.g. 0x08000000)');
  return { image: parseRawBinary(bytes, options.loadAddress), format };
}

/**
 * Intel HEX is ASCII lines starting with ':'. A binary may begin with 0x3A by chance,
 * so the whole file must be printable ASCII/whitespace and the first record well formed.
 */
export function looksLikeIntelHex(bytes: Uint8Array): boolean {
  let i = 0;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) i = 3; // UTF-8 BOM from Windows editors
  while (i < bytes.length && isSpace(bytes[i] ?? 0)) i++;
  if (bytes[i] !== 0x3a) return false;
  for (let j = i; j < bytes.length; j++) {
    const b = bytes[j] ?? 0;
    if (!(isSpace(b) || (b >= 0x20 && b < 0x7f))) return false;
  }
  // ':' + count + address + type + checksum = 11 characters at least.
  let digits = 0;
  for (let j = i + 1; j < bytes.length && isHexDigit(bytes[j] ?? 0); j++) digits++;
  return digits >= 10;
}

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

function isHexDigit(b: number): boolean {
  return (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66);
}
