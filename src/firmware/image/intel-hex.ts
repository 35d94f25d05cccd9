/**
 * Intel HEX (Intel "Hexadecimal Object File Format Specification", rev. A, 1988):
 * record types 00 data, 01 end of file, 02 extended segment address, 03 start
 * segment address, 04 extended linear address, 05 start linear address.
 * Every error names the line and the problem, because these files are edited and
 * concatenated by hand on site and "invalid file" alone helps nobody.
 */
import type { FirmwareImage, StartAddress } from './image.js';
import { createImage, ImageError } from './segments.js';
import type { SourcedSegment } from './segments.js';

export class IntelHexError extends ImageError {
  override name = 'IntelHexError';
  constructor(
    readonly line: number | undefined,
    readonly problem: string,
  ) {
    super(line === undefined ? problem : `line ${line}: ${problem}`);
  }
}

const TYPE_NAMES: Readonly<Record<number, string>> = {
  0x00: 'data',
  0x01: 'end of file',
  0x02: 'extended segment address',
  0x03: 'start segment address',
  0x04: 'extended linear address',
  0x05: 'start linear address',
};
/** Fixed data lengths of the non-data record types. */
const FIXED_LENGTH: Readonly<Record<number, number>> = { 0x01: 0, 0x02: 2, 0x03: 4, 0x04: 2, 0x05: 4 };

/** Parse Intel HEX text into a normalised image (overlapping data is an error). */
export function parseIntelHex(text: string): FirmwareImage {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const pieces: SourcedSegment[] = [];
  let start: { value: StartAddress; line: number } | undefined;
  let eofLine: number | undefined;
  // Which base applies to data records: the most recent 02 or 04 record wins.
  let mode: 'linear' | 'segment' = 'linear';
  let base = 0;
  let lastRecordLine = 0;

  lines.forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.trim();
    if (line === '') return;
    if (eofLine !== undefined) throw new IntelHexError(lineNo, `record after the end-of-file record on line ${eofLine}`);
    lastRecordLine = lineNo;
    const bytes = decodeRecord(line, lineNo);
    const count = bytes[0] ?? 0;
    const offset = ((bytes[1] ?? 0) << 8) | (bytes[2] ?? 0);
    const type = bytes[3] ?? 0;
    const data = bytes.subarray(4, bytes.length - 1);
    if (data.length !== count) {
      throw new IntelHexError(lineNo, `byte count 0x${hex2(count)} but the record holds ${data.length} data bytes`);
    }
    verifyChecksum(bytes, lineNo);
    const name = TYPE_NAMES[type];
    if (name === undefined) throw new IntelHexError(lineNo, `record type 0x${hex2(type)} unknown`);
    const fixed = FIXED_LENGTH[type];
    if (fixed !== undefined && count !== fixed) {
      throw new IntelHexError(lineNo, `record type 0x${hex2(type)} (${name}) needs ${fixed} data bytes, has ${count}`);
    }
    switch (type) {
      case 0x00:
        pieces.push(...placeData(mode, base, offset, data, lineNo));
        break;
      case 0x01:
        eofLine = lineNo;
        break;
      case 0x02:
        mode = 'segment';
        base = be16(data) * 16;
        break;
      case 0x04:
        mode = 'linear';
        base = be16(data) * 0x10000;
        break;
      case 0x03:
      case 0x05: {
        const value: StartAddress =
          type === 0x05
            ? { kind: 'linear', address: be16(data) * 0x10000 + be16(data.subarray(2)) }
            : { kind: 'segment', cs: be16(data), ip: be16(data.subarray(2)) };
        if (start !== undefined && !sameStart(start.value, value)) {
          throw new IntelHexError(lineNo, `start address conflicts with the one on line ${start.line}`);
        }
        start = { value, line: lineNo };
        break;
      }
    }
  });

  if (eofLine === undefined) {
    throw new IntelHexError(undefined, `missing end-of-file record (type 01) after line ${lastRecordLine}`);
  }
  try {
    return createImage(pieces, start?.value);
  } catch (err) {
    if (err instanceof ImageError && !(err instanceof IntelHexError)) {
      // Re-throw as an IntelHexError so callers can catch one type; the message
      // already names the lines ("line 7: data at … overlaps data from line 3").
      const m = /^line (\d+): (.*)$/s.exec(err.message);
      throw m?.[1] !== undefined && m[2] !== undefined ? new IntelHexError(Number(m[1]), m[2]) : new IntelHexError(undefined, err.message);
    }
    throw err;
  }
}

function decodeRecord(line: string, lineNo: number): Uint8Array {
  if (line[0] !== ':') throw new IntelHexError(lineNo, `record must start with ':', found ${describeChar(line[0] ?? '')}`);
  for (let i = 1; i < line.length; i++) {
    const c = line[i] ?? '';
    if (!/[0-9A-Fa-f]/.test(c)) throw new IntelHexError(lineNo, `non-hex character ${describeChar(c)} at column ${i + 1}`);
  }
  const digits = line.length - 1;
  if (digits % 2 !== 0) throw new IntelHexError(lineNo, `odd number of hex digits (${digits})`);
  if (digits < 10) throw new IntelHexError(lineNo, `record too short: ${digits / 2} bytes, a record has at least 5`);
  const bytes = new Uint8Array(digits / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(line.substr(1 + 2 * i, 2), 16);
  return bytes;
}

function verifyChecksum(bytes: Uint8Array, lineNo: number): void {
  // The checksum is the two's complement of the sum of all other bytes.
  let sum = 0;
  for (let i = 0; i < bytes.length - 1; i++) sum += bytes[i] ?? 0;
  const expected = -sum & 0xff;
  const actual = bytes[bytes.length - 1] ?? 0;
  if (actual !== expected) throw new IntelHexError(lineNo, `checksum 0x${hex2(actual)} expected 0x${hex2(expected)}`);
}

function placeData(mode: 'linear' | 'segment', base: number, offset: number, data: Uint8Array, lineNo: number): SourcedSegment[] {
  const origin = `line ${lineNo}`;
  if (mode === 'segment' && offset + data.length > 0x10000) {
    // Segment addressing wraps the offset inside the 64 KB segment (spec: (DRLO + DRI) MOD 64K).
    const first = 0x10000 - offset;
    return [
      { address: base + offset, data: data.subarray(0, first), origin },
      { address: base, data: data.subarray(first), origin },
    ];
  }
  return [{ address: base + offset, data, origin }];
}

function sameStart(a: StartAddress, b: StartAddress): boolean {
  if (a.kind === 'linear' && b.kind === 'linear') return a.address === b.address;
  if (a.kind === 'segment' && b.kind === 'segment') return a.cs === b.cs && a.ip === b.ip;
  return false;
}

function be16(b: Uint8Array): number {
  return ((b[0] ?? 0) << 8) | (b[1] ?? 0);
}

function describeChar(c: string): string {
  if (c === '') return 'end of line';
  const code = c.charCodeAt(0);
  return code >= 0x21 && code < 0x7f ? `'${c}'` : `0x${hex2(code)}`;
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

export interface WriteIntelHexOptions {
  /** Data bytes per 00 record; 16 is the common default, 32 halves the line count. */
  readonly bytesPerRecord?: 16 | 32;
  readonly eol?: '\n' | '\r\n';
}

/**
 * Image → Intel HEX text using extended linear addressing (04) for the upper 16 bits.
 * Data records never cross a 64 KB boundary so their 16-bit offsets stay exact.
 */
export function writeIntelHex(image: FirmwareImage, options: WriteIntelHexOptions = {}): string {
  const perRecord = options.bytesPerRecord ?? 16;
  const eol = options.eol ?? '\n';
  const out: string[] = [];
  let upper = 0;
  for (const segment of image.segments) {
    let pos = 0;
    while (pos < segment.data.length) {
      const address = segment.address + pos;
      const hi = Math.floor(address / 0x10000);
      const lo = address % 0x10000;
      if (hi !== upper) {
        out.push(record(0x04, 0, [hi >> 8, hi & 0xff]));
        upper = hi;
      }
      const n = Math.min(perRecord, segment.data.length - pos, 0x10000 - lo);
      out.push(record(0x00, lo, segment.data.subarray(pos, pos + n)));
      pos += n;
    }
  }
  const start = image.start;
  if (start?.kind === 'linear') {
    const a = start.address;
    out.push(record(0x05, 0, [(a >>> 24) & 0xff, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff]));
  } else if (start?.kind === 'segment') {
    out.push(record(0x03, 0, [start.cs >> 8, start.cs & 0xff, start.ip >> 8, start.ip & 0xff]));
  }
  out.push(record(0x01, 0, []));
  return out.join(eol) + eol;
}

function record(type: number, offset: number, data: ArrayLike<number>): string {
  const bytes = [data.length, offset >> 8, offset & 0xff, type, ...Array.from(data)];
  const sum = bytes.reduce((s, b) => s + b, 0);
  bytes.push(-sum & 0xff);
  return ':' + bytes.map(hex2).join('');
}
