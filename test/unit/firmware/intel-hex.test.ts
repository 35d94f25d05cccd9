import { createHash } from 'node:crypto';
import test from 'ava';
import {
  createImage,
  flattenImage,
  imageDataSize,
  imageSha256,
  imageSize,
  ImageError,
  loadImageFile,
} from '../../../src/firmware/image/image.js';
import { IntelHexError, parseIntelHex, writeIntelHex } from '../../../src/firmware/image/intel-hex.js';
import { parseRawBinary, writeRawBinary } from '../../../src/firmware/image/raw-binary.js';
import { bytes } from './helpers/auto-clock.js';

// Checksums computed independently (Python) — not by the writer under test.
const LINEAR = [
  ':020000040800F2',
  ':10000000000102030405060708090A0B0C0D0E0F78',
  ':04001000DEADBEEFB4',
  ':0401000001020304F1',
  ':0400000508000101ED',
  ':00000001FF',
];
const SEGMENT = [':020000021200EA', ':04FFFE00AABBCCDDF1', ':0400000312000010D7', ':00000001FF'];

const hexOf = (lines: string[], eol = '\n'): string => lines.join(eol) + eol;
const withLine = (index: number, line: string): string => hexOf(LINEAR.map((l, i) => (i === index ? line : l)));

test('parses data, extended linear address and start linear address', (t) => {
  const image = parseIntelHex(hexOf(LINEAR));
  t.deepEqual(image.segments, [
    { address: 0x08000000, data: bytes(...Array.from({ length: 16 }, (_, i) => i), 0xde, 0xad, 0xbe, 0xef) },
    { address: 0x08000100, data: bytes(1, 2, 3, 4) },
  ]);
  t.deepEqual(image.start, { kind: 'linear', address: 0x08000101 });
});

test('accepts CRLF, lower-case digits, blank lines and a BOM', (t) => {
  const text = '\uFEFF' + hexOf(LINEAR.map((l) => l.toLowerCase()), '\r\n') + '\r\n  \r\n';
  t.deepEqual(parseIntelHex(text), parseIntelHex(hexOf(LINEAR)));
});

test('extended segment address: base ×16, offsets wrap inside the 64 KB segment; start segment CS:IP', (t) => {
  const image = parseIntelHex(hexOf(SEGMENT));
  t.deepEqual(image.segments, [
    { address: 0x12000, data: bytes(0xcc, 0xdd) },
    { address: 0x21ffe, data: bytes(0xaa, 0xbb) },
  ]);
  t.deepEqual(image.start, { kind: 'segment', cs: 0x1200, ip: 0x0010 });
});

test('bad checksum names the line, the checksum found and the one expected', (t) => {
  const err = t.throws(() => parseIntelHex(withLine(2, ':04001000DEADBEEFB5')), { instanceOf: IntelHexError });
  t.is(err?.message, 'line 3: checksum 0xB5 expected 0xB4');
  t.is(err?.line, 3);
});

test('byte count that disagrees with the record length', (t) => {
  t.throws(() => parseIntelHex(withLine(2, ':05001000DEADBEEFB3')), { message: 'line 3: byte count 0x05 but the record holds 4 data bytes' });
});

test('unknown record type', (t) => {
  t.throws(() => parseIntelHex(withLine(1, ':00000007F9')), { message: 'line 2: record type 0x07 unknown' });
});

test('missing EOF record', (t) => {
  t.throws(() => parseIntelHex(hexOf(LINEAR.slice(0, 5))), { message: 'missing end-of-file record (type 01) after line 5' });
  t.throws(() => parseIntelHex(''), { message: /missing end-of-file record/ });
});

test('records after EOF are rejected', (t) => {
  t.throws(() => parseIntelHex(hexOf([...LINEAR, ':00000001FF'])), { message: 'line 7: record after the end-of-file record on line 6' });
});

test('non-hex characters, missing colon, odd digit count, short record', (t) => {
  t.throws(() => parseIntelHex(withLine(1, ':10000000000102030405060708090A0B0C0D0E0G78')), { message: "line 2: non-hex character 'G' at column 41" });
  t.throws(() => parseIntelHex(withLine(1, ':1000 000000102030405060708090A0B0C0D0E0F78')), { message: "line 2: non-hex character 0x20 at column 6" });
  t.throws(() => parseIntelHex(withLine(3, '0401000001020304F1')), { message: "line 4: record must start with ':', found '0'" });
  t.throws(() => parseIntelHex(withLine(3, ':0401000001020304F')), { message: 'line 4: odd number of hex digits (17)' });
  t.throws(() => parseIntelHex(withLine(3, ':00000001')), { message: 'line 4: record too short: 4 bytes, a record has at least 5' });
});

test('wrong data length for address and start records', (t) => {
  // :03000004080000F1 — extended linear address with 3 data bytes
  t.throws(() => parseIntelHex(withLine(0, ':03000004080000F1')), { message: 'line 1: record type 0x04 (extended linear address) needs 2 data bytes, has 3' });
  // :0100000100FE — EOF with a data byte
  t.throws(() => parseIntelHex(withLine(5, ':0100000100FE')), { message: 'line 6: record type 0x01 (end of file) needs 0 data bytes, has 1' });
});

test('overlapping data names both lines', (t) => {
  const lines = [...LINEAR.slice(0, 3), ':020008001122C3', ...LINEAR.slice(3)];
  t.throws(() => parseIntelHex(hexOf(lines)), { message: 'line 4: data at 0x08000008..0x08000009 overlaps data from line 2' });
});

test('conflicting start addresses are rejected', (t) => {
  // :0400000508000201EC — a second, different start linear address
  const lines = [...LINEAR.slice(0, 5), ':0400000508000201EC', ':00000001FF'];
  t.throws(() => parseIntelHex(hexOf(lines)), { message: 'line 6: start address conflicts with the one on line 5' });
});

test('writer reproduces the fixture byte for byte', (t) => {
  t.is(writeIntelHex(parseIntelHex(hexOf(LINEAR))), hexOf(LINEAR));
});

test('round trip with 16 and 32 bytes per record across a 64 KB boundary', (t) => {
  const data = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
  const image = createImage(
    [
      { address: 0x0800ff80, data },
      { address: 0x20000000, data: bytes(9, 8, 7) },
    ],
    { kind: 'linear', address: 0x080001f1 },
  );
  for (const bytesPerRecord of [16, 32] as const) {
    const text = writeIntelHex(image, { bytesPerRecord, eol: '\r\n' });
    t.deepEqual(parseIntelHex(text), image);
    const dataLines = text.split('\r\n').filter((l) => l.slice(7, 9) === '00');
    t.true(dataLines.every((l) => parseInt(l.slice(1, 3), 16) <= bytesPerRecord));
    t.true(text.includes(':020000040801F1'), 'switches to the next 64 KB page');
  }
  const segImage = parseIntelHex(hexOf(SEGMENT));
  t.deepEqual(parseIntelHex(writeIntelHex(segImage)), segImage);
});

test('image helpers: flatten with 0xFF gaps, sizes, sha256', (t) => {
  const image = parseIntelHex(hexOf(LINEAR));
  const flat = flattenImage(image);
  t.is(flat.address, 0x08000000);
  t.is(flat.data.length, 0x104);
  t.is(flat.data[0x13], 0xef);
  t.is(flat.data[0x14], 0xff);
  t.is(flat.data[0xff], 0xff);
  t.deepEqual(flat.data.subarray(0x100), bytes(1, 2, 3, 4));
  t.is(imageSize(image), 0x104);
  t.is(imageDataSize(image), 24);
  t.is(imageSha256(image), createHash('sha256').update(flat.data).digest('hex'));
});

test('createImage merges touching pieces and rejects overlaps', (t) => {
  const image = createImage([
    { address: 10, data: bytes(3) },
    { address: 8, data: bytes(1, 2) },
  ]);
  t.deepEqual(image.segments, [{ address: 8, data: bytes(1, 2, 3) }]);
  t.throws(() => createImage([{ address: 0, data: bytes(1, 2) }, { address: 1, data: bytes(3) }]), { instanceOf: ImageError });
});

test('raw binary: load address, round trip, errors', (t) => {
  const image = parseRawBinary(bytes(1, 2, 3), 0x08000000);
  t.deepEqual(image.segments, [{ address: 0x08000000, data: bytes(1, 2, 3) }]);
  t.deepEqual(writeRawBinary(image), { loadAddress: 0x08000000, data: bytes(1, 2, 3) });
  t.throws(() => parseRawBinary(new Uint8Array(0), 0), { message: /empty/ });
  t.throws(() => parseRawBinary(bytes(1, 2), 0xffffffff), { message: /past the 32-bit address space/ });
});

test('loadImageFile detects Intel HEX by content, needs a load address for binaries', (t) => {
  const hexFile = new TextEncoder().encode(hexOf(LINEAR));
  const loaded = loadImageFile(hexFile);
  t.is(loaded.format, 'hex');
  t.is(loaded.image.segments.length, 2);
  // A binary that happens to start with ':' is still binary.
  const bin = bytes(0x3a, 0x31, 0x30, 0x00, 0xff, 0x80);
  t.is(loadImageFile(bin, { loadAddress: 0x08000000 }).format, 'bin');
  t.throws(() => loadImageFile(bin), { message: /needs a load address/ });
  t.throws(() => loadImageFile(hexFile, { loadAddress: 0 }), { message: /only to raw binaries/ });
  t.is(loadImageFile(hexFile, { format: 'bin', loadAddress: 0 }).format, 'bin');
});
