// BSDF2 deltas (src/firmware/delta): the container as byte fixtures, the suffix array
// against a naive sort, patch(diff(a, b), a) == b for random and firmware-like inputs, and
// refusals of broken patches with typed codes.
import test, { type ExecutionContext } from 'ava';
import { deepStrictEqual, ok } from 'node:assert';
import { brotliCompressSync } from 'node:zlib';
import fc from 'fast-check';
import { applyDelta, Compression, decodeBsdf2, DeltaError, type DeltaErrorCode, diffStreams, encodeBsdf2, makeDelta, readOfft, suffixArray, writeOfft } from '../../../src/firmware/delta/index.js';
import { prng } from '../../support/prng.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

test('offt: 8-byte little-endian magnitude with the sign in the top bit of the last byte (bsdiff offtout/offtin)', (t) => {
  const cases: [number, string][] = [
    [0, '0000000000000000'],
    [1, '0100000000000000'],
    [-1, '0100000000000080'],
    [0x1234, '3412000000000000'],
    [-0x0102030405, '0504030201000080'],
    [2 ** 53 - 1, 'ffffffffffff1f00'],
  ];
  for (const [value, expected] of cases) {
    const out = new Uint8Array(8);
    writeOfft(value, out, 0);
    t.is(hex(out), expected, String(value));
    t.is(readOfft(out, 0), value);
  }
  t.throws(() => readOfft(Buffer.from('0000000000000020', 'hex'), 0), { instanceOf: DeltaError, message: /beyond 2\^53/ });
});

// "hello world" → "hello, world!": 5 bytes by diff (all zero), then ", world!" as extra; one entry.
const HELLO_PATCH =
  '4253444632000000' + // "BSDF2", control/diff/extra uncompressed (type 0)
  '1800000000000000' + // control stream: 24 bytes
  '0500000000000000' + // diff stream: 5 bytes
  '0d00000000000000' + // new file: 13 bytes
  '0500000000000000' + '0800000000000000' + '0600000000000000' + // (diff 5, extra 8, seek +6)
  '0000000000' + // diff bytes
  Buffer.from(', world!', 'latin1').toString('hex');

test('BSDF2 byte fixture (no compression): encode gives the exact bytes, apply makes the new file', (t) => {
  const encoded = encodeBsdf2({ control: [{ diff: 5, extra: 8, seek: 6 }], diff: new Uint8Array(5), extra: bytes(', world!'), newSize: 13 }, Compression.none);
  t.is(hex(encoded), HELLO_PATCH);
  t.is(Buffer.from(applyDelta(bytes('hello world'), Buffer.from(HELLO_PATCH, 'hex'), { expectedSize: 13 })).toString('latin1'), 'hello, world!');
});

test('BSDF2 byte fixture: diff bytes are added to the old bytes modulo 256, a negative seek moves back', (t) => {
  // old "ABCD"; new = "BBCD" + "AB": diff [+1,0,0,0], then seek -4 and diff [0,0] again.
  const patch = encodeBsdf2(
    { control: [{ diff: 4, extra: 0, seek: -4 }, { diff: 2, extra: 0, seek: 0 }], diff: new Uint8Array([1, 0, 0, 0, 0, 0]), extra: new Uint8Array(0), newSize: 6 },
    Compression.none,
  );
  t.is(hex(patch.subarray(32 + 16, 32 + 24)), '0400000000000080', 'seek -4 in sign-magnitude');
  t.is(Buffer.from(applyDelta(bytes('ABCD'), patch, { expectedSize: 6 })).toString('latin1'), 'BBCDAB');
  const wrap = encodeBsdf2({ control: [{ diff: 1, extra: 0, seek: 0 }], diff: new Uint8Array([0x02]), extra: new Uint8Array(0), newSize: 1 }, Compression.none);
  t.deepEqual([...applyDelta(new Uint8Array([0xff]), wrap, { expectedSize: 1 })], [0x01]);
});

// Made by the reference implementation (Debian's bsdiff 4.3: BSDIFF40 with bzip2 streams) and
// re-packed without compression into BSDF2 (streams unchanged): our bspatch must apply it, and
// our bsdiff makes exactly the same streams. (Checked the same way by hand, both directions,
// on the bench firmware 1.0.0 ⇄ stm32-changed 1.0.1: identical streams, and bspatch applied ours.)
const REFERENCE_OLD = 'The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. 0123456789';
const REFERENCE_NEW = 'The quick brown fox jumped over the lazy dogs. Pack my box with five dozen liquor jugs! 0123456789abc';
const REFERENCE_PATCH =
  '425344463200000048000000000000005f0000000000000065000000000000001800000000000000020000000000000001000000000000001200000000000000010000000000000000000000000000003500000000000000030000000000000059000000000000800000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000f30000000000000000000000656473616263';

test('interop: a patch made by the reference bsdiff 4.3 applies, and ours for the same files is byte-identical', (t) => {
  const patch = Buffer.from(REFERENCE_PATCH, 'hex');
  t.is(Buffer.from(applyDelta(bytes(REFERENCE_OLD), patch, { expectedSize: REFERENCE_NEW.length })).toString('latin1'), REFERENCE_NEW);
  t.is(hex(makeDelta(bytes(REFERENCE_OLD), bytes(REFERENCE_NEW), Compression.none)), REFERENCE_PATCH);
  t.deepEqual(decodeBsdf2(patch, 200).control, [
    { diff: 24, extra: 2, seek: 1 },
    { diff: 18, extra: 1, seek: 0 },
    { diff: 53, extra: 3, seek: -89 },
  ]);
});

test('the patches we make are BSDF2 with brotli (type 2) streams, and carry the new size', (t) => {
  const patch = makeDelta(bytes('hello world'), bytes('hello, world!'));
  t.is(hex(patch.subarray(0, 8)), '4253444632020202');
  t.is(readOfft(patch, 24), 13);
  t.is(Buffer.from(applyDelta(bytes('hello world'), patch, { expectedSize: 13 })).toString('latin1'), 'hello, world!');
});

test('suffix array equals a naive sort of the suffixes (random bytes, small alphabets, long runs)', (t) => {
  const naive = (data: Uint8Array): number[] =>
    [...data.keys()].sort((a, b) => Buffer.compare(Buffer.from(data.subarray(a)), Buffer.from(data.subarray(b))));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ max: 2, maxLength: 300 }), fc.nat(300).map((n) => new Uint8Array(n).fill(0xff))), (data) => {
      deepStrictEqual([...suffixArray(data)], naive(data));
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('property: apply(make(a, b), a) == b for unrelated random inputs (empty ones included)', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 2000 }), (a, b) => {
      deepStrictEqual(applyDelta(a, makeDelta(a, b), { expectedSize: b.length }), b);
    }),
    { numRuns: 200 },
  );
  t.pass();
});

/** An edit of a firmware-like image: insert, delete or overwrite a run somewhere. */
const editArbitrary = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), kind: fc.constantFrom('insert', 'delete', 'overwrite'), data: fc.uint8Array({ minLength: 1, maxLength: 64 }) });

test('property: apply(make(a, b), a) == b when b is a with a few inserts, deletes and overwrites', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 4096 }), fc.array(editArbitrary, { maxLength: 6 }), (a, edits) => {
      let b = Buffer.from(a);
      for (const edit of edits) {
        const at = Math.floor(edit.at * b.length);
        if (edit.kind === 'insert') b = Buffer.concat([b.subarray(0, at), edit.data, b.subarray(at)]);
        else if (edit.kind === 'delete') b = Buffer.concat([b.subarray(0, at), b.subarray(at + edit.data.length)]);
        else b = Buffer.concat([b.subarray(0, at), edit.data, b.subarray(at + edit.data.length)]);
      }
      const made = new Uint8Array(b);
      deepStrictEqual(applyDelta(a, makeDelta(a, made), { expectedSize: made.length }), made);
    }),
    { numRuns: 150 },
  );
  t.pass();
});

/**
 * A code-like image: 32-bit words where every eighth is a "branch" holding a target address
 * relative to itself. Inserting a function in the middle shifts everything after it and
 * changes the offsets of branches that cross the insertion: what a one-function change does.
 */
function codeLike(words: number, seed: number): { before: Uint8Array; after: Uint8Array } {
  const random = prng(seed);
  const body = Array.from({ length: words }, () => Math.floor(random() * 2 ** 32));
  const targets = body.map((_, i) => (i % 8 === 0 ? Math.floor(random() * words) : -1));
  const insertAt = Math.floor(words / 2);
  const inserted = Array.from({ length: 24 }, () => Math.floor(random() * 2 ** 32));
  const render = (shifted: boolean): Uint8Array => {
    const out: number[] = [];
    body.forEach((word, i) => {
      if (shifted && i === insertAt) out.push(...inserted);
      const position = shifted && i >= insertAt ? i + inserted.length : i;
      const target = targets[i] as number;
      const targetPosition = shifted && target >= insertAt ? target + inserted.length : target;
      out.push(target < 0 ? word : (targetPosition - position) >>> 0);
    });
    const buffer = Buffer.alloc(out.length * 4);
    out.forEach((w, i) => buffer.writeUInt32LE(w >>> 0, i * 4));
    return new Uint8Array(buffer);
  };
  return { before: render(false), after: render(true) };
}

test('a function inserted into code-like data: the delta is small (≤ 15 % of the new image) and exact', (t) => {
  for (const seed of [1, 2, 3]) {
    const { before, after } = codeLike(4096, seed); // 16 KB, 96 bytes inserted, 1 in 8 words relocated
    const patch = makeDelta(before, after);
    t.deepEqual(applyDelta(before, patch, { expectedSize: after.length }), after);
    const share = patch.length / after.length;
    t.true(share <= 0.15, `seed ${seed}: ${patch.length} bytes = ${(100 * share).toFixed(1)} % of ${after.length}`);
    // The bsdiff way pays: the shifted half is one diff run of mostly zeros, not hundreds of new bytes.
    const streams = diffStreams(before, after);
    t.true(streams.extra.length < 400, `${streams.extra.length} extra bytes`);
  }
});

test('an identical image gives a patch of a few dozen bytes', (t) => {
  const { before } = codeLike(16384, 9); // 64 KB
  const patch = makeDelta(before, before);
  t.true(patch.length < 100, `${patch.length} bytes`);
  t.deepEqual(applyDelta(before, patch, { expectedSize: before.length }), before);
});

function refusal(t: ExecutionContext, run: () => unknown, code: DeltaErrorCode): void {
  const error = t.throws(run, { instanceOf: DeltaError });
  t.is(error?.code, code, error?.message);
}

test('refusals carry a code: short, wrong magic, BSDIFF40, unknown compression, wrong size', (t) => {
  const good = Buffer.from(HELLO_PATCH, 'hex');
  const old = bytes('hello world');
  refusal(t, () => applyDelta(old, good.subarray(0, 20), { expectedSize: 13 }), 'truncated');
  refusal(t, () => applyDelta(old, good.subarray(0, good.length - 3), { expectedSize: 13 }), 'corrupt');
  refusal(t, () => applyDelta(old, Buffer.concat([Buffer.from('XSDF2'), good.subarray(5)]), { expectedSize: 13 }), 'bad-magic');
  refusal(t, () => applyDelta(old, Buffer.concat([Buffer.from('BSDIFF40'), good.subarray(8)]), { expectedSize: 13 }), 'unsupported-compression');
  const bzip2 = Buffer.from(good);
  bzip2[6] = 1;
  refusal(t, () => applyDelta(old, bzip2, { expectedSize: 13 }), 'unsupported-compression');
  refusal(t, () => applyDelta(old, good, { expectedSize: 12 }), 'size-mismatch');
  refusal(t, () => applyDelta(old, good, { expectedSize: 14 }), 'size-mismatch');
});

test('refusals: a control entry past the new file or the streams, leftovers, and a stream that inflates too far', (t) => {
  const old = bytes('hello world');
  const make = (control: { diff: number; extra: number; seek: number }[], diff: number, extra: number, newSize: number): Uint8Array =>
    encodeBsdf2({ control, diff: new Uint8Array(diff), extra: new Uint8Array(extra), newSize }, Compression.none);
  refusal(t, () => applyDelta(old, make([{ diff: 20, extra: 0, seek: 0 }], 20, 0, 13), { expectedSize: 13 }), 'corrupt');
  refusal(t, () => applyDelta(old, make([{ diff: 5, extra: 9, seek: 0 }], 5, 8, 13), { expectedSize: 13 }), 'corrupt');
  refusal(t, () => applyDelta(old, make([{ diff: 5, extra: 7, seek: 0 }], 5, 8, 13), { expectedSize: 13 }), 'corrupt');
  refusal(t, () => applyDelta(old, make([{ diff: -1, extra: 0, seek: 0 }], 0, 0, 13), { expectedSize: 13 }), 'corrupt');
  // A brotli "extra" stream of 1 MB of zeros in a patch for a 13-byte file: refused, not inflated.
  const bomb = Buffer.from(makeDelta(old, bytes('hello, world!')));
  const header = decodeBsdf2(bomb, 13);
  ok(header.newSize === 13);
  const controlLength = readOfft(bomb, 8);
  const diffLength = readOfft(bomb, 16);
  const inflated = Buffer.concat([bomb.subarray(0, 32 + controlLength + diffLength), brotliCompressSync(Buffer.alloc(1 << 20))]);
  refusal(t, () => applyDelta(old, inflated, { expectedSize: 13 }), 'corrupt');
});

test('property: a damaged patch is refused with a DeltaError or makes some file of the expected size, never anything else', (t) => {
  const { before, after } = codeLike(512, 5);
  const patch = makeDelta(before, after);
  fc.assert(
    fc.property(fc.nat(patch.length - 1), fc.integer({ min: 1, max: 255 }), fc.boolean(), (at, flip, cut) => {
      const damaged = Buffer.from(patch);
      damaged[at] = (damaged[at] as number) ^ flip;
      const input = cut ? damaged.subarray(0, at) : damaged;
      try {
        const out = applyDelta(before, input, { expectedSize: after.length });
        ok(out.length === after.length);
      } catch (err) {
        ok(err instanceof DeltaError, `threw ${String(err)}`);
      }
    }),
    { numRuns: 300 },
  );
  t.pass();
});
