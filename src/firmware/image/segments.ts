/**
 * Normalisation of image segments: the one place that decides what a valid
 * FirmwareImage looks like (sorted, non-overlapping, contiguous runs merged), so
 * that both parsers and hand-built images agree.
 */
import type { FirmwareImage, Segment, StartAddress } from './image.js';

export class ImageError extends Error {
  override name = 'ImageError';
}

/** A piece of data with an optional origin (e.g. "line 12") for overlap errors. */
export interface SourcedSegment {
  readonly address: number;
  readonly data: Uint8Array;
  readonly origin?: string;
}

const ADDRESS_LIMIT = 0x1_0000_0000;

/**
 * Sort, reject overlaps, merge touching pieces. Empty pieces are ignored.
 * Throws ImageError naming both origins when two pieces overlap.
 */
export function normalizeSegments(pieces: readonly SourcedSegment[]): Segment[] {
  const sorted = pieces.filter((p) => p.data.length > 0).slice().sort((a, b) => a.address - b.address);
  const out: { address: number; parts: Uint8Array[]; end: number; origin?: string }[] = [];
  for (const piece of sorted) {
    if (!Number.isInteger(piece.address) || piece.address < 0 || piece.address + piece.data.length > ADDRESS_LIMIT) {
      throw new ImageError(`${prefix(piece.origin)}data at ${hex32(piece.address)} (+${piece.data.length}) is outside the 32-bit address space`);
    }
    const last = out[out.length - 1];
    if (last !== undefined && piece.address < last.end) {
      const end = Math.min(last.end, piece.address + piece.data.length) - 1;
      throw new ImageError(
        `${prefix(piece.origin)}data at ${hex32(piece.address)}..${hex32(end)} overlaps data` +
          (last.origin !== undefined ? ` from ${last.origin}` : ' already present'),
      );
    }
    if (last !== undefined && piece.address === last.end) {
      last.parts.push(piece.data);
      last.end += piece.data.length;
      if (piece.origin !== undefined) last.origin = piece.origin;
    } else {
      out.push({ address: piece.address, parts: [piece.data], end: piece.address + piece.data.length, origin: piece.origin });
    }
  }
  return out.map((s) => ({ address: s.address, data: concat(s.parts, s.end - s.address) }));
}

/** Build a normalised image from arbitrary segments. */
export function createImage(segments: readonly SourcedSegment[], start?: StartAddress): FirmwareImage {
  return start === undefined ? { segments: normalizeSegments(segments) } : { segments: normalizeSegments(segments), start };
}

/** Lowest and one-past-highest address holding data; undefined for an empty image. */
export function imageSpan(image: FirmwareImage): { start: number; end: number } | undefined {
  const first = image.segments[0];
  const last = image.segments[image.segments.length - 1];
  if (first === undefined || last === undefined) return undefined;
  return { start: first.address, end: last.address + last.data.length };
}

/**
 * One contiguous buffer from the lowest address, gaps filled with 0xFF — the value
 * of erased NOR flash, so writing the filled image equals writing the segments.
 */
export function flattenImage(image: FirmwareImage, fill = 0xff): { address: number; data: Uint8Array } {
  const span = imageSpan(image);
  if (span === undefined) return { address: 0, data: new Uint8Array(0) };
  const data = new Uint8Array(span.end - span.start).fill(fill);
  for (const s of image.segments) data.set(s.data, s.address - span.start);
  return { address: span.start, data };
}

function concat(parts: readonly Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0].slice();
  const data = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    data.set(p, offset);
    offset += p.length;
  }
  return data;
}

function prefix(origin: string | undefined): string {
  return origin === undefined ? '' : `${origin}: `;
}

export function hex32(n: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;
}
