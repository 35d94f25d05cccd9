import test from 'ava';
import { An3155Client } from '../../../src/firmware/an3155/an3155-client.js';
import type { FlashProgress } from '../../../src/firmware/an3155/flash.js';
import { FlashAbortedError, flashImage, FlashVerifyError, pagesFor, planBlocks } from '../../../src/firmware/an3155/flash.js';
import { WRITE_MEMORY_OVERHEAD } from '../../../src/firmware/an3155/wire.js';
import { createImage } from '../../../src/firmware/image/image.js';
import type { MemoryLinkOptions } from '../../../src/firmware/link/memory-link.js';
import { createMemoryLinkPair } from '../../../src/firmware/link/memory-link.js';
import { autoClock } from './helpers/auto-clock.js';
import type { FakeBootloaderOptions } from './helpers/fake-bootloader.js';
import { FakeBootloader } from './helpers/fake-bootloader.js';

// ~5 KB: one 5000-byte segment and a 7-byte tail with an unaligned end.
const main = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13 + (i >> 8)) & 0xff);
const tail = Uint8Array.of(1, 2, 3, 4, 5, 6, 7);
const IMAGE = createImage([
  { address: 0x08000000, data: main },
  { address: 0x08001400, data: tail },
]);

function rig(bl: FakeBootloaderOptions = {}, link: MemoryLinkOptions = {}) {
  const auto = autoClock();
  const pair = createMemoryLinkPair(link);
  const bootloader = new FakeBootloader(pair.b, bl);
  const client = new An3155Client({ link: pair.a, clock: auto.clock });
  return { auto, pair, bootloader, client };
}

function flashed(bl: FakeBootloader, address: number, length: number): Uint8Array {
  return bl.flash.subarray(address - bl.flashBase, address - bl.flashBase + length);
}

test('planBlocks: 4-byte aligned, ≤256 bytes, 0xFF padding', (t) => {
  const blocks = planBlocks(IMAGE);
  t.is(blocks.length, 21);
  t.true(blocks.every((b) => b.address % 4 === 0 && b.data.length % 4 === 0 && b.data.length <= 256));
  t.deepEqual(blocks.at(-2), { address: 0x08001300, data: main.subarray(0x1300) });
  t.deepEqual(blocks.at(-1), { address: 0x08001400, data: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 0xff) });
  const odd = planBlocks(createImage([{ address: 0x08000003, data: Uint8Array.of(9) }]));
  t.deepEqual(odd, [{ address: 0x08000000, data: Uint8Array.of(0xff, 0xff, 0xff, 9) }]);
  t.deepEqual(pagesFor(blocks, 1024, 0x08000000), [0, 1, 2, 3, 4, 5]);
});

test('flash + verify of a ~5 KB image with mass erase, then Go', async (t) => {
  const { auto, bootloader, client, pair } = rig();
  const progress: FlashProgress[] = [];
  try {
    const result = await flashImage(client, IMAGE, { erase: 'mass', onProgress: (p) => progress.push(p) });
    t.deepEqual(result, { bytesWritten: 5008, blocks: 21, retries: 0, verified: true, bootloaderVersion: 0x31, started: 0x08000000 });
  } finally {
    auto.stop();
  }
  t.deepEqual(bootloader.violations, []);
  t.deepEqual(flashed(bootloader, 0x08000000, 5000), main);
  t.deepEqual(flashed(bootloader, 0x08001400, 8), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 0xff));
  t.is(bootloader.goAddress, 0x08000000);
  t.is(bootloader.log[0], 'erase mass');
  t.is(bootloader.log.filter((l) => l.startsWith('write')).length, 21);
  t.is(bootloader.log.filter((l) => l.startsWith('read')).length, 21);
  // Progress: erase, then write and verify by bytes, then go; monotonic.
  t.deepEqual([...new Set(progress.map((p) => p.phase))], ['erase', 'write', 'verify', 'go']);
  t.deepEqual(progress.filter((p) => p.phase === 'write').at(-1), { phase: 'write', done: 5008, total: 5008 });
  // Host bytes on the wire: sync 1 + Get 2 + erase 2+3 + 21 writes (data + 9 each)
  // + 21 reads (9 each) + Go 7 — nothing more.
  t.is(pair.a.written.length, 1 + 2 + 5 + (5008 + 21 * WRITE_MEMORY_OVERHEAD.hostBytes) + 21 * 9 + 7);
});

test('page erase erases only the pages the image touches; legacy Erase (0x43) when 0x44 is absent', async (t) => {
  const legacy = [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x43];
  for (const commands of [undefined, legacy]) {
    const { auto, bootloader, client } = rig(commands ? { commands } : {});
    try {
      await flashImage(client, IMAGE, { erase: 'pages', pageSize: 1024, go: false });
    } finally {
      auto.stop();
    }
    t.deepEqual(bootloader.violations, []);
    t.is(bootloader.log[0], 'erase pages 0,1,2,3,4,5');
    t.is(bootloader.flash[6 * 1024], (6 * 1024 * 31 + 7) & 0xff, 'page 6 untouched');
    t.is(bootloader.goAddress, undefined);
  }
});

test('a chunk NACKed (corrupted on the line) is retried after resync and succeeds', async (t) => {
  let writes = 0;
  const { auto, bootloader, client } = rig(
    {},
    {
      tamper: (bytes, from) => {
        // Corrupt one byte in the data phase of the third Write Memory block.
        if (from === 'a' && bytes.length === 258 && ++writes === 3) {
          const bad = bytes.slice();
          bad[100] = (bad[100] ?? 0) ^ 0x01;
          return bad;
        }
        return bytes;
      },
    },
  );
  bootloader.tolerateChecksumErrors = 1;
  try {
    const result = await flashImage(client, IMAGE, { erase: 'mass' });
    t.is(result.retries, 1);
  } finally {
    auto.stop();
  }
  t.deepEqual(bootloader.violations, []);
  t.true(bootloader.log.includes('nack write data checksum at 0x08000200'));
  const writesTo0200 = bootloader.log.filter((l) => l === 'write 0x08000200 256');
  t.is(writesTo0200.length, 1);
  t.deepEqual(flashed(bootloader, 0x08000000, 5000), main);
});

test('a block whose ACK was lost is read back, found written, and not written twice', async (t) => {
  let writes = 0;
  let dropNextAck = false;
  const { auto, bootloader, client } = rig(
    {},
    {
      tamper: (bytes, from) => {
        if (from === 'a' && bytes.length === 258 && ++writes === 3) dropNextAck = true;
        if (from === 'b' && dropNextAck && bytes.length === 1 && bytes[0] === 0x79) {
          dropNextAck = false;
          return new Uint8Array(0); // the block is programmed, the host never hears so
        }
        return bytes;
      },
    },
  );
  try {
    const result = await flashImage(client, IMAGE, { erase: 'mass' });
    t.is(result.retries, 1);
  } finally {
    auto.stop();
  }
  t.deepEqual(bootloader.violations, [], 'no write into programmed flash');
  t.is(bootloader.log.filter((l) => l === 'write 0x08000200 256').length, 1);
  t.deepEqual(flashed(bootloader, 0x08000000, 5000), main);
});

test('a block that keeps failing gives up after the bounded retries', async (t) => {
  const { auto, bootloader, client } = rig({}, { tamper: (bytes, from) => (from === 'a' && bytes.length === 258 ? bytes.map((b, i) => (i === 1 ? b ^ 1 : b)) : bytes) });
  bootloader.tolerateChecksumErrors = 100;
  try {
    await t.throwsAsync(flashImage(client, IMAGE, { erase: 'mass', retries: 2 }), { message: /Write Memory at 0x08000000 \(data\): bootloader answered NACK/ });
  } finally {
    auto.stop();
  }
  t.is(bootloader.log.filter((l) => l.startsWith('nack write')).length, 3);
});

test('verify names the first mismatching address', async (t) => {
  const { auto, client } = rig({ stuck: new Map([[0x08000123, 0x00]]) });
  try {
    const err = await t.throwsAsync(flashImage(client, IMAGE, { erase: 'mass' }), { instanceOf: FlashVerifyError });
    t.is(err?.address, 0x08000123);
    t.is(err?.message, `verify failed at 0x08000123: wrote 0x${(main[0x123] ?? 0).toString(16).toUpperCase().padStart(2, '0')}, read 0x00`);
  } finally {
    auto.stop();
  }
});

test('abort stops between commands and leaves the bootloader synced', async (t) => {
  const { auto, bootloader, client } = rig();
  const ac = new AbortController();
  try {
    const err = await t.throwsAsync(
      flashImage(client, IMAGE, {
        erase: 'mass',
        signal: ac.signal,
        onProgress: (p) => {
          if (p.phase === 'write' && p.done >= 1024) ac.abort(new Error('operator cancelled'));
        },
      }),
      { instanceOf: FlashAbortedError },
    );
    t.like(err, { phase: 'write', done: 1024, total: 5008 });
    t.is(bootloader.state, 'command');
    t.is(bootloader.pendingBytes, 0);
    // Still usable without a new handshake.
    t.deepEqual(await client.getVersion(), { version: 0x31, optionBytes: [0, 0] });
  } finally {
    auto.stop();
  }
  t.deepEqual(bootloader.violations, []);
  t.is(bootloader.log.filter((l) => l.startsWith('write')).length, 4);
});

test('an already aborted signal sends nothing', async (t) => {
  const { auto, client, pair } = rig();
  try {
    await t.throwsAsync(flashImage(client, IMAGE, { erase: 'mass', signal: AbortSignal.abort() }), { instanceOf: FlashAbortedError });
  } finally {
    auto.stop();
  }
  t.is(pair.a.written.length, 0);
});

test('flashing works when the bootloader was already synced (sync answered by NACK)', async (t) => {
  const { auto, bootloader, client } = rig();
  try {
    await client.sync();
    await flashImage(client, IMAGE, { erase: 'mass', verify: false });
  } finally {
    auto.stop();
  }
  t.deepEqual(bootloader.violations, []);
  t.is(bootloader.log[0], 'nack command 0x7f 0x7f');
});
