import test from 'ava';
import { ManualClock } from '../../../src/firmware/clock.js';
import { crc16Ccitt } from '../../../src/firmware/mculink/crc16-ccitt.js';
import type { Frame } from '../../../src/firmware/mculink/frame-codec.js';
import { encodeFrame, FrameDecoder, FrameEncodeError } from '../../../src/firmware/mculink/frame-codec.js';
import { bytes, hex } from './helpers/auto-clock.js';

// Fixtures computed independently (Python reference CRC-16/CCITT-FALSE).
const IDENTIFY_SEQ1 = bytes(0xa5, 0x00, 0x02, 0x01, 0xba, 0xdf);
const PING_SEQ7 = bytes(0xa5, 0x02, 0x01, 0x07, 0xaa, 0x55, 0x5e, 0x4e);
const RATE_ACK_SEQ9 = bytes(0xa5, 0x02, 0x83, 0x09, 0xf4, 0x01, 0x42, 0xde);

function collect(clock?: ManualClock): { decoder: FrameDecoder; frames: Frame[] } {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder({ onFrame: (f) => frames.push(f), ...(clock ? { clock } : {}) });
  return { decoder, frames };
}

function summary(frames: Frame[]): string[] {
  return frames.map((f) => `${f.type.toString(16)}/${f.seq}/${hex(f.payload)}`);
}

test('CRC-16/CCITT-FALSE check value of "123456789" is 0x29B1', (t) => {
  t.is(crc16Ccitt(new TextEncoder().encode('123456789')), 0x29b1);
  t.is(crc16Ccitt(new Uint8Array(0)), 0xffff);
});

test('CRC can be computed in pieces', (t) => {
  const data = new TextEncoder().encode('123456789');
  t.is(crc16Ccitt(data, 4, 9, crc16Ccitt(data, 0, 4)), 0x29b1);
});

test('encodeFrame produces the spec byte layout', (t) => {
  t.deepEqual(encodeFrame({ type: 0x02, seq: 1, payload: new Uint8Array(0) }), IDENTIFY_SEQ1);
  t.deepEqual(encodeFrame({ type: 0x01, seq: 7, payload: bytes(0xaa, 0x55) }), PING_SEQ7);
  t.deepEqual(encodeFrame({ type: 0x83, seq: 9, payload: bytes(0xf4, 0x01) }), RATE_ACK_SEQ9);
});

test('encodeFrame rejects payloads over 64 bytes and non-byte fields', (t) => {
  t.notThrows(() => encodeFrame({ type: 1, seq: 1, payload: new Uint8Array(64) }));
  t.throws(() => encodeFrame({ type: 1, seq: 1, payload: new Uint8Array(65) }), { instanceOf: FrameEncodeError });
  t.throws(() => encodeFrame({ type: 256, seq: 1, payload: new Uint8Array(0) }), { instanceOf: FrameEncodeError });
});

test('decoder finds frames after and between garbage', (t) => {
  const { decoder, frames } = collect();
  decoder.push(bytes(0x00, 0x13, 0x37, ...IDENTIFY_SEQ1, 0xff, 0xfe, ...PING_SEQ7, 0x42));
  t.deepEqual(summary(frames), ['2/1/', '1/7/aa 55']);
  t.is(decoder.stats.frames, 2);
  t.is(decoder.stats.droppedBytes, 6);
  t.is(decoder.buffered, 0);
});

test('a false SOF inside garbage drops only that byte and the real frame is still found', (t) => {
  const { decoder, frames } = collect();
  // 0xA5 0x03 looks like a header announcing 3 payload bytes; the real frame
  // starts inside what would have been its payload.
  decoder.push(bytes(0xa5, 0x03, ...PING_SEQ7));
  t.deepEqual(summary(frames), ['1/7/aa 55']);
  t.is(decoder.stats.badCrc, 1);
  t.is(decoder.stats.droppedBytes, 2);
});

test('byte-by-byte delivery yields the same frames', (t) => {
  const { decoder, frames } = collect();
  const stream = bytes(0x55, ...IDENTIFY_SEQ1, 0xa5, ...PING_SEQ7, ...RATE_ACK_SEQ9);
  for (const b of stream) decoder.push(bytes(b));
  t.deepEqual(summary(frames), ['2/1/', '1/7/aa 55', '83/9/f4 01']);
  t.is(decoder.stats.droppedBytes, 2);
});

test('frames split at every position decode identically', (t) => {
  const stream = bytes(...PING_SEQ7, ...RATE_ACK_SEQ9);
  for (let cut = 0; cut <= stream.length; cut++) {
    const { decoder, frames } = collect();
    decoder.push(stream.subarray(0, cut));
    decoder.push(stream.subarray(cut));
    t.deepEqual(summary(frames), ['1/7/aa 55', '83/9/f4 01'], `cut at ${cut}`);
  }
});

test('a bad CRC drops the frame, counts it, and the next frame still decodes', (t) => {
  const { decoder, frames } = collect();
  const corrupt = PING_SEQ7.slice();
  corrupt[5] = 0x56;
  decoder.push(bytes(...corrupt, ...IDENTIFY_SEQ1));
  t.deepEqual(summary(frames), ['2/1/']);
  t.is(decoder.stats.badCrc, 1);
  t.is(decoder.stats.droppedBytes, corrupt.length);
});

test('LEN above 64 is rejected at once without waiting for more bytes', (t) => {
  const { decoder, frames } = collect();
  decoder.push(bytes(0xa5, 65, ...RATE_ACK_SEQ9));
  t.deepEqual(summary(frames), ['83/9/f4 01']);
  t.is(decoder.stats.badLength, 1);
  t.is(decoder.stats.badCrc, 0);
});

test('64-byte payload is accepted', (t) => {
  const { decoder, frames } = collect();
  const payload = Uint8Array.from({ length: 64 }, (_, i) => i);
  decoder.push(encodeFrame({ type: 0x10, seq: 200, payload }));
  t.is(frames.length, 1);
  t.deepEqual(frames[0]?.payload, payload);
});

test('a partial frame idle for 100 ms is dropped; the next frame decodes', (t) => {
  const clock = new ManualClock();
  const { decoder, frames } = collect(clock);
  decoder.push(PING_SEQ7.subarray(0, 5));
  clock.advance(60);
  decoder.push(PING_SEQ7.subarray(5, 6)); // activity restarts the 100 ms window
  clock.advance(99);
  t.is(decoder.buffered, 6);
  t.is(decoder.stats.timeouts, 0);
  clock.advance(1);
  t.is(decoder.buffered, 0);
  t.is(decoder.stats.timeouts, 1);
  t.is(decoder.stats.droppedBytes, 6);
  // The rest of the stale frame now arrives as garbage, then a good frame.
  decoder.push(bytes(...PING_SEQ7.subarray(6), ...IDENTIFY_SEQ1));
  t.deepEqual(summary(frames), ['2/1/']);
  t.is(clock.pendingTimers, 0);
});

test('timeout rescans after the stale SOF: a frame hidden behind a false long header is delivered', (t) => {
  const clock = new ManualClock();
  const { decoder, frames } = collect(clock);
  // 0xA5 0x40 announces 64 bytes; the complete IDENTIFY behind it cannot be seen
  // until the false header is abandoned.
  decoder.push(bytes(0xa5, 0x40, ...IDENTIFY_SEQ1));
  t.is(frames.length, 0);
  clock.advance(100);
  t.deepEqual(summary(frames), ['2/1/']);
  t.is(decoder.buffered, 0);
});

test('reset drops buffered bytes and stops the timer', (t) => {
  const clock = new ManualClock();
  const { decoder } = collect(clock);
  decoder.push(PING_SEQ7.subarray(0, 3));
  t.is(clock.pendingTimers, 1);
  decoder.reset();
  t.is(decoder.buffered, 0);
  t.is(clock.pendingTimers, 0);
});

test('decoder survives a large burst of random noise with embedded frames', (t) => {
  const { decoder, frames } = collect();
  let seed = 12345;
  const rnd = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
  const parts: number[] = [];
  const expected: string[] = [];
  for (let i = 0; i < 50; i++) {
    for (let j = 0; j < 20; j++) parts.push(rnd());
    const payload = bytes(i, rnd());
    parts.push(...encodeFrame({ type: 0x81, seq: i + 1, payload }));
    expected.push(`81/${i + 1}/${hex(payload)}`);
  }
  decoder.push(Uint8Array.from(parts));
  // Noise may by chance contain a valid frame; every embedded frame must be found.
  const got = summary(frames);
  for (const e of expected) t.true(got.includes(e), e);
});
