// The STC89 ISP codec and client against byte fixtures. The fixtures are the frames of a
// session with an STC89C52RC as published with stcgal (doc/reverse-engineering/
// stc89-protocol.txt: the status packet and "programming hello.bin @ 2400 bps"), so a
// frame built here equals what the real loader took.
import type { ExecutionContext } from 'ava';
import test from 'ava';
import { createMemoryLinkPair } from '../../../src/firmware/link/memory-link.js';
import { Stc89Client } from '../../../src/firmware/stc89/stc89-client.js';
import {
  baudSettings, baudSetPayload, baudTestPayload, clockHz, encodeFrame, erasePayload, optionsPayload, parseStatus, pingPayload,
  programPayload, resetPayload, scanFrame, Stc89Error,
} from '../../../src/firmware/stc89/wire.js';
import { autoClock } from './helpers/auto-clock.js';
import { ScriptedPeer, type Step } from './helpers/scripted-peer.js';

/** The published status frame: no 46 B9 start; 8 counters, version 4.3 'C', MSR 0xFC (6T), magic F0 02. */
const STATUS_FRAME = [
  0x68, 0x00, 0x3b, 0x00, 0x25, 0xe6, 0x25, 0xe6, 0x25, 0xe6, 0x25, 0xe6, 0x25, 0xe6, 0x25, 0xe6,
  0x25, 0xe2, 0x25, 0xe6, 0x43, 0x43, 0xfc, 0xf0, 0x02, 0x82, ...new Array<number>(31).fill(0), 0xed, 0x16,
];

/** The first program frame of hello.bin (80 bytes of code, zero-padded to 128 by that host). */
const HELLO = [
  0x02, 0x00, 0x08, 0x12, 0x00, 0x3f, 0x80, 0xfe, 0x75, 0x81, 0x07, 0x12, 0x00, 0x4c, 0xe5, 0x82, 0x60, 0x03, 0x02, 0x00,
  0x03, 0xe4, 0x78, 0xff, 0xf6, 0xd8, 0xfd, 0x02, 0x00, 0x03, 0xae, 0x82, 0xaf, 0x83, 0x8e, 0x04, 0x8f, 0x05, 0x1e, 0xbe,
  0xff, 0x01, 0x1f, 0xec, 0x4d, 0x60, 0x0f, 0x7c, 0x90, 0x7d, 0x01, 0x1c, 0xbc, 0xff, 0x01, 0x1d, 0xec, 0x4d, 0x70, 0xf7,
  0x80, 0xe4, 0x22, 0x90, 0x03, 0xe8, 0x12, 0x00, 0x1e, 0xe5, 0x80, 0xf4, 0xf5, 0x80, 0x80, 0xf3, 0x75, 0x82, 0x00, 0x22,
];

test('status frame: parsed without the 46 B9 start, checksum ED over 68 00 3B and the payload', (t) => {
  const scan = scanFrame(Uint8Array.from(STATUS_FRAME));
  if (scan.kind !== 'frame') return t.fail(`scan: ${scan.kind}`);
  t.is(scan.consumed, STATUS_FRAME.length);
  const status = parseStatus(scan.payload);
  t.is(status.magic, 0xf002, 'STC89C52RC');
  t.is(status.bootloaderVersion, '4.3C');
  t.is(status.options, 0xfc);
  t.true(status.sixClock, 'MSR bit 0 clear: 6 clocks per machine cycle');
  t.deepEqual(status.counters, [0x25e6, 0x25e6, 0x25e6, 0x25e6, 0x25e6, 0x25e6, 0x25e2, 0x25e6]);
  // 2400 baud, mean counter 9701.5, 6T: 2400 × 9701.5 × 6 / 7 ≈ 19.957 MHz (a 20 MHz crystal).
  t.is(Math.round(clockHz(status, 2400) / 1000), 19957);
});

test('status frame: a flipped byte is a checksum error, a missing 0x16 a framing error', (t) => {
  const corrupt = [...STATUS_FRAME];
  corrupt[10] = 0x26;
  t.like(scanFrame(Uint8Array.from(corrupt)), { kind: 'bad', code: 'checksum' });
  const unterminated = [...STATUS_FRAME];
  unterminated[unterminated.length - 1] = 0x00;
  t.like(scanFrame(Uint8Array.from(unterminated)), { kind: 'bad', code: 'framing' });
  t.like(scanFrame(Uint8Array.from(STATUS_FRAME.slice(0, 20))), { kind: 'need-more' });
  t.like(scanFrame(Uint8Array.of(0x7f, 0x7f, ...STATUS_FRAME)), { kind: 'skip', consumed: 2 });
});

test('erase: 46 B9 6A 00 0D 84 01 33 33 33 33 33 33 2E 16 (hello.bin, < 512 bytes: two 256-byte units)', (t) => {
  // The capture erased one unit with an older stcgal; the count is now whole sectors.
  t.deepEqual([...encodeFrame(Uint8Array.of(0x84, 0x01, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33))],
    [0x46, 0xb9, 0x6a, 0x00, 0x0d, 0x84, 0x01, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x2e, 0x16]);
  t.deepEqual([...erasePayload(80)], [0x84, 0x02, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33]);
  t.deepEqual([...erasePayload(8192)], [0x84, 0x20, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33], 'the 8 KB code flash: 32 units');
});

test('program: the first hello.bin block, 46 B9 6A 00 8C 00 00 00 00 00 00 80 … 79 16', (t) => {
  const block = Uint8Array.from([...HELLO, ...new Array<number>(48).fill(0)]);
  const { payload, sum } = programPayload(0, block);
  const frame = encodeFrame(payload);
  t.is(frame.length, 142);
  t.deepEqual([...frame.subarray(0, 16)], [0x46, 0xb9, 0x6a, 0x00, 0x8c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x02, 0x00, 0x08, 0x12]);
  t.deepEqual([...frame.subarray(140)], [0x79, 0x16]);
  t.is(sum, HELLO.reduce((a, b) => a + b, 0) & 0xff, 'the answer carries the sum of the 128 data bytes');
  // Second block of the capture: address 0x0080, all padding.
  t.deepEqual([...encodeFrame(programPayload(0x80, new Uint8Array(128)).payload).subarray(5, 12)], [0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x80]);
  t.is(encodeFrame(programPayload(0x80, new Uint8Array(128)).payload)[140], 0xf6);
});

test('program: a short last block is padded with 0xFF (erased flash stays erased)', (t) => {
  const { payload, sum } = programPayload(0x100, Uint8Array.of(1, 2, 3));
  t.is(payload.length, 135);
  t.deepEqual([...payload.subarray(0, 10)], [0, 0, 0, 0x01, 0x00, 0x00, 0x80, 1, 2, 3]);
  t.true(payload.subarray(10).every((b) => b === 0xff));
  t.is(sum, (6 + 125 * 0xff) & 0xff);
});

test('baud switch: reload, its check byte and FF − high byte as in 8F FD F8 02 10 …', (t) => {
  // The capture's 8F FD F8 02 10 28 81: reload 0xFDF8 at 2400 baud handshake on a 20 MHz 6T chip.
  const s = { ...baudSettings(19_957_000, true, 2400), delay: 0x28 };
  t.is(s.reload, 0xfdf8);
  t.is(s.reloadCheck, 0x10);
  t.deepEqual([...baudTestPayload(s)], [0x8f, 0xfd, 0xf8, 0x02, 0x10, 0x28, 0x81]);
  t.deepEqual([...encodeFrame(baudTestPayload(s))], [0x46, 0xb9, 0x6a, 0x00, 0x0c, 0x8f, 0xfd, 0xf8, 0x02, 0x10, 0x28, 0x81, 0xb5, 0x16]);
  t.deepEqual([...encodeFrame(baudSetPayload(s))], [0x46, 0xb9, 0x6a, 0x00, 0x0b, 0x8e, 0xfd, 0xf8, 0x02, 0x10, 0x28, 0x32, 0x16]);
  t.deepEqual([...encodeFrame(pingPayload(0xf002))], [0x46, 0xb9, 0x6a, 0x00, 0x0c, 0x80, 0x00, 0x00, 0x36, 0x01, 0xf0, 0x02, 0x1f, 0x16]);
  // 115200 at 11.0592 MHz in 12T: divisor 3, exact.
  const fast = baudSettings(11_059_200, false, 115_200);
  t.is(fast.reload, 0xfffd);
  t.is(fast.errorPercent, 0);
  t.is(fast.iapWait, 0x81);
});

test('options and reset frames', (t) => {
  t.deepEqual([...encodeFrame(optionsPayload(0xfd))], [0x46, 0xb9, 0x6a, 0x00, 0x0a, 0x8d, 0xfd, 0xff, 0xff, 0xff, (0x6a + 0x0a + 0x8d + 0xfd + 3 * 0xff) & 0xff, 0x16]);
  t.deepEqual([...encodeFrame(resetPayload())], [0x46, 0xb9, 0x6a, 0x00, 0x06, 0x82, 0xf2, 0x16]);
});

/** An MCU → host frame around a payload, as the loader answers. */
function answer(...payload: number[]): number[] {
  return [...encodeFrame(Uint8Array.from(payload), 0x68)];
}

async function withLoader<T>(t: ExecutionContext, steps: Step[], body: (client: Stc89Client) => Promise<T>): Promise<T> {
  const auto = autoClock();
  const pair = createMemoryLinkPair();
  const peer = new ScriptedPeer(pair.b, steps);
  const client = new Stc89Client({ link: pair.a, clock: auto.clock });
  try {
    const result = await body(client);
    t.true(peer.done, peer.describe());
    return result;
  } finally {
    auto.stop();
    client.dispose();
  }
}

test('connect: pulses 0x7F through the power cycle until the status frame arrives', async (t) => {
  let cycled = 0;
  const session = await withLoader(
    t,
    [{ expect: [0x7f] }, { expect: [0x7f] }, { expect: [0x7f], note: 'powered up while this one arrived' }, { send: STATUS_FRAME }],
    (c) => c.connect(async () => void cycled++, 5000),
  );
  t.is(cycled, 1);
  t.is(session.status.magic, 0xf002);
});

test('connect: a chip whose power never cycles gives no-power-cycle after the timeout', async (t) => {
  const err = await t.throwsAsync(
    withLoader(t, [], (c) => c.connect(() => Promise.resolve(), 300)),
    { instanceOf: Stc89Error },
  );
  t.is(err?.code, 'no-power-cycle');
});

test('program: a block the chip stored differently is a verify error naming the block', async (t) => {
  const data = Uint8Array.from(HELLO);
  const { payload, sum } = programPayload(0x80, data);
  const err = await t.throwsAsync(
    withLoader(t, [{ expect: [...encodeFrame(payload)] }, { send: answer(0x80, (sum + 1) & 0xff) }], (c) => c.program(0x80, data)),
    { instanceOf: Stc89Error },
  );
  t.is(err?.code, 'verify');
  t.regex(err?.message ?? '', /block at 0x0080/);
});

test('erase, program, options, reset: each answered as the protocol says', async (t) => {
  const data = Uint8Array.from(HELLO);
  const { payload, sum } = programPayload(0, data);
  await withLoader(
    t,
    [
      { expect: [...encodeFrame(erasePayload(80))] }, { send: answer(0x80) },
      { expect: [...encodeFrame(payload)] }, { send: answer(0x80, sum) },
      { expect: [...encodeFrame(optionsPayload(0xfd))] }, { send: answer(0x8d) },
      { expect: [...encodeFrame(resetPayload())] },
    ],
    async (c) => {
      await c.erase(80);
      await c.program(0, data);
      await c.setOptions(0xfd);
      await c.reset();
    },
  );
  t.pass();
});

test('an erase answered with something else than 0x80 is refused', async (t) => {
  const err = await t.throwsAsync(
    withLoader(t, [{ expect: [...encodeFrame(erasePayload(8192))] }, { send: answer(0x8d) }], (c) => c.erase(8192)),
    { instanceOf: Stc89Error },
  );
  t.is(err?.code, 'unexpected');
});
