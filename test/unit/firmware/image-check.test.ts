import test from 'ava';
import { createImage } from '../../../src/firmware/image/image.js';
import { crc32 } from '../../../src/firmware/image/crc32.js';
import { decodeMessage, encodeMessage } from '../../../src/firmware/mculink/messages.js';
import { judgeImageCheck } from '../../../src/firmware/update/image-check.js';
import { diffPages } from '../../../src/firmware/update/page-diff.js';

const identity = {
  protocolVersion: 1,
  firmware: { major: 2, minor: 0, patch: 0 },
  firmwareVersion: '2.0.0',
  serialNumber: '0123456789abcdef',
  model: 'stm32f103',
  application: 'env-node',
};

test('CRC-32 check value: "123456789" → 0xCBF43926 (IEEE 802.3 / zlib)', (t) => {
  t.is(crc32(Buffer.from('123456789', 'ascii')), 0xcbf43926);
  t.is(crc32(new Uint8Array(0)), 0);
});

test('IDENTIFY with the image check: flags 01 and the length, u32 little-endian', (t) => {
  const { payload } = encodeMessage({ kind: 'identify', imageCheckLength: 0x10000 });
  t.deepEqual([...payload], [0x01, 0x00, 0x00, 0x01, 0x00]);
  t.deepEqual(decodeMessage(0x02, payload), { kind: 'identify', imageCheckLength: 0x10000 });
  t.deepEqual([...encodeMessage({ kind: 'identify' }).payload], []);
});

test('IDENTITY with and without the 8 trailing image-check bytes both decode', (t) => {
  const plain = encodeMessage({ kind: 'identity', identity }).payload;
  const checked = encodeMessage({ kind: 'identity', identity: { ...identity, imageCheck: { length: 2660, crc32: 0xdeadbeef } } }).payload;
  t.is(checked.length, plain.length + 8);
  t.deepEqual([...checked.subarray(plain.length)], [0x64, 0x0a, 0, 0, 0xef, 0xbe, 0xad, 0xde]);
  t.deepEqual(decodeMessage(0x82, plain), { kind: 'identity', identity });
  t.deepEqual(decodeMessage(0x82, checked), { kind: 'identity', identity: { ...identity, imageCheck: { length: 2660, crc32: 0xdeadbeef } } });
  t.throws(() => decodeMessage(0x82, Uint8Array.of(...plain, 1, 2, 3)));
});

test('judging the check: match, a different CRC, a different length, none reported', (t) => {
  const image = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
  t.is(judgeImageCheck({ ...identity, imageCheck: { length: 300, crc32: crc32(image) } }, image).kind, 'match');
  const wrong = judgeImageCheck({ ...identity, imageCheck: { length: 300, crc32: crc32(image) ^ 1 } }, image);
  t.is(wrong.kind, 'mismatch');
  t.is(judgeImageCheck({ ...identity, imageCheck: { length: 299, crc32: crc32(image) } }, image).kind, 'mismatch');
  t.is(judgeImageCheck(identity, image).kind, 'unavailable');
});

test('page diff: only the changed page is written; pages only the old image used are erased', (t) => {
  const base = 0x0800_0000;
  const old = Uint8Array.from({ length: 5 * 1024 }, (_, i) => (i * 7) & 0xff);
  const next = old.slice(0, 4 * 1024 + 10);
  next[2 * 1024 + 5] = (next[2 * 1024 + 5] ?? 0) ^ 0xff;
  const diff = diffPages(createImage([{ address: base, data: next }]), { loadAddress: base, data: old }, { flashBase: base, pageSize: 1024 });
  // page 2 changed; page 4 now ends after 10 bytes (the rest compares as erased, old was not); nothing past it in the new image
  t.deepEqual(diff?.erasePages, [2, 4]);
  t.deepEqual(diff?.image.segments.map((s) => [s.address - base, s.data.length]), [[2048, 1024], [4096, 10]]);
  t.is(diff?.unchangedPages, 3);
  const same = diffPages(createImage([{ address: base, data: old }]), { loadAddress: base, data: old }, { flashBase: base, pageSize: 1024 });
  t.deepEqual(same?.erasePages, []);
  t.is(diffPages(createImage([{ address: base + 4, data: old }]), { loadAddress: base, data: old }, { flashBase: base, pageSize: 1024 }), undefined);
});
