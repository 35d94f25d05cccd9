import type { ExecutionContext } from 'ava';
import test from 'ava';
import { An3155Client } from '../../../src/firmware/an3155/an3155-client.js';
import { stm32ChipFor } from '../../../src/firmware/an3155/chips.js';
import { eraseCommandFor } from '../../../src/firmware/an3155/flash.js';
import { BootloaderError, encodeAddress, xorChecksum } from '../../../src/firmware/an3155/wire.js';
import { createMemoryLinkPair } from '../../../src/firmware/link/memory-link.js';
import { checkChip } from '../../../src/firmware/update/chip-check.js';
import { flashGeometryFor } from '../../../src/firmware/update/flash-targets.js';
import type { AutoClock } from './helpers/auto-clock.js';
import { autoClock } from './helpers/auto-clock.js';
import type { Step } from './helpers/scripted-peer.js';
import { ScriptedPeer } from './helpers/scripted-peer.js';

const ACK = 0x79;
const NACK = 0x1f;

/** Run `body` against a scripted bootloader; assert the whole script ran. */
async function withPeer<T>(t: ExecutionContext, steps: Step[], body: (client: An3155Client) => Promise<T>): Promise<T> {
  const auto: AutoClock = autoClock();
  const pair = createMemoryLinkPair();
  const peer = new ScriptedPeer(pair.b, steps);
  const client = new An3155Client({ link: pair.a, clock: auto.clock });
  try {
    const result = await body(client);
    t.true(peer.done, peer.describe());
    return result;
  } catch (err) {
    t.is(peer.failure, undefined, peer.failure);
    throw err;
  } finally {
    auto.stop();
    client.dispose();
  }
}

test('sync: a fresh bootloader answers 0x7F with ACK', async (t) => {
  const r = await withPeer(t, [{ expect: [0x7f] }, { send: [ACK] }], (c) => c.sync());
  t.is(r, 'ack');
});

test('sync: an already synced bootloader stays silent on one 0x7F and NACKs the pair', async (t) => {
  const r = await withPeer(t, [{ expect: [0x7f], note: 'taken as a command byte' }, { expect: [0x7f] }, { send: [NACK] }], (c) => c.sync());
  t.is(r, 'nack');
});

test('sync: silence is a timeout error', async (t) => {
  const err = await t.throwsAsync(withPeer(t, [{ expect: [0x7f] }, { expect: [0x7f] }], (c) => c.sync()), { instanceOf: BootloaderError });
  t.is(err?.code, 'timeout');
});

// AN3155 §3.1: ACK, N = number of bytes that follow minus 1 (version + 11 codes → 0x0B),
// the version, the codes, ACK. The F10x medium-density ROM is version 2.2 (AN2606) and
// lists Erase 0x43; later ROMs (3.1 here) list Extended Erase 0x44 instead (§3 note 3:
// a bootloader offers one or the other, never both).
test('Get, bootloader v2.2 (STM32F10x medium density): 00 FF → 79 0B 22 00 01 02 11 21 31 43 63 73 82 92 79', async (t) => {
  const r = await withPeer(
    t,
    [{ expect: [0x00, 0xff] }, { send: [0x79, 0x0b, 0x22, 0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x43, 0x63, 0x73, 0x82, 0x92, 0x79] }],
    (c) => c.get(),
  );
  t.deepEqual(r, { version: 0x22, commands: [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x43, 0x63, 0x73, 0x82, 0x92] });
  t.is(eraseCommandFor(r.commands), 'erase');
});

test('Get, bootloader v3.1 with Extended Erase: 00 FF → 79 0B 31 00 01 02 11 21 31 44 63 73 82 92 79', async (t) => {
  const r = await withPeer(
    t,
    [{ expect: [0x00, 0xff] }, { send: [0x79, 0x0b, 0x31, 0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92, 0x79] }],
    (c) => c.get(),
  );
  t.deepEqual(r, { version: 0x31, commands: [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44, 0x63, 0x73, 0x82, 0x92] });
  t.is(eraseCommandFor(r.commands), 'extended-erase');
  t.is(eraseCommandFor([0x00, 0x01, 0x02, 0x11, 0x21, 0x31]), undefined);
});

test('Get ID 0x410 is STM32F10x medium density: 1 KB pages, option bytes at 0x1FFFF800', async (t) => {
  const pid = await withPeer(t, [{ expect: [0x02, 0xfd] }, { send: [0x79, 0x01, 0x04, 0x10, 0x79] }], (c) => c.getId());
  const chip = stm32ChipFor(pid);
  t.is(chip?.family, 'STM32F10x medium density');
  t.is(chip?.pageSize, 1024);
  t.is(chip?.optionBytes, 0x1fff_f800);
  t.is(chip?.bootloaderVersion, 0x22);
  t.is(stm32ChipFor(0x414)?.pageSize, 2048);
  t.is(stm32ChipFor(0x0c52), undefined);
});

test('Get Version: 01 FE → ACK version opt1 opt2 ACK', async (t) => {
  const r = await withPeer(t, [{ expect: [0x01, 0xfe] }, { send: [ACK, 0x31, 0x00, 0x00, ACK] }], (c) => c.getVersion());
  t.deepEqual(r, { version: 0x31, optionBytes: [0, 0] });
});

test('Get ID: 02 FD → ACK N PID ACK', async (t) => {
  const r = await withPeer(t, [{ expect: [0x02, 0xfd] }, { send: [ACK, 0x01, 0x04, 0x10, ACK] }], (c) => c.getId());
  t.is(r, 0x410);
});

test('Read Memory: 11 EE, address + XOR, N-1 + complement, then data', async (t) => {
  const data = Array.from({ length: 256 }, (_, i) => 255 - i);
  const r = await withPeer(
    t,
    [
      { expect: [0x11, 0xee] },
      { send: [ACK] },
      { expect: [0x08, 0x00, 0x01, 0x00, 0x09], note: 'address 0x08000100 + XOR' },
      { send: [ACK] },
      { expect: [0xff, 0x00], note: 'N-1 = 255 and its complement' },
      { send: [ACK, ...data] },
    ],
    (c) => c.readMemory(0x08000100, 256),
  );
  t.deepEqual(r, Uint8Array.from(data));
});

test('Read Memory of 4 bytes sends 03 FC', async (t) => {
  const r = await withPeer(
    t,
    [{ expect: [0x11, 0xee] }, { send: [ACK] }, { expect: [0x20, 0x00, 0x00, 0x00, 0x20] }, { send: [ACK] }, { expect: [0x03, 0xfc] }, { send: [ACK, 1, 2, 3, 4] }],
    (c) => c.readMemory(0x20000000, 4),
  );
  t.deepEqual(r, Uint8Array.of(1, 2, 3, 4));
});

test('Write Memory: 31 CE, address + XOR, N-1 data XOR(N-1, data)', async (t) => {
  await withPeer(
    t,
    [
      { expect: [0x31, 0xce] },
      { send: [ACK] },
      { expect: [0x08, 0x00, 0x01, 0x00, 0x09] },
      { send: [ACK] },
      // 03 ^ DE ^ AD ^ BE ^ EF = 0x21 (worked by hand)
      { expect: [0x03, 0xde, 0xad, 0xbe, 0xef, 0x21] },
      { send: [ACK] },
    ],
    (c) => c.writeMemory(0x08000100, Uint8Array.of(0xde, 0xad, 0xbe, 0xef)),
  );
  t.pass();
});

test('Write Memory of a full 256-byte block', async (t) => {
  const data = Array.from({ length: 256 }, (_, i) => i);
  // XOR of 0..255 is 0, so the checksum is N-1 = 0xFF.
  await withPeer(
    t,
    [{ expect: [0x31, 0xce] }, { send: [ACK] }, { expect: [...encodeAddress(0x08000000)] }, { send: [ACK] }, { expect: [0xff, ...data, 0xff] }, { send: [ACK] }],
    (c) => c.writeMemory(0x08000000, Uint8Array.from(data)),
  );
  t.is(xorChecksum(data), 0);
});

test('Write Memory refuses unaligned addresses and lengths before sending anything', async (t) => {
  await withPeer(t, [], async (c) => {
    await t.throwsAsync(c.writeMemory(0x08000002, new Uint8Array(4)), { instanceOf: RangeError });
    await t.throwsAsync(c.writeMemory(0x08000000, new Uint8Array(6)), { instanceOf: RangeError });
    await t.throwsAsync(c.writeMemory(0x08000000, new Uint8Array(260)), { instanceOf: RangeError });
    await t.throwsAsync(c.readMemory(0x08000000, 257), { instanceOf: RangeError });
  });
});

test('Extended Erase: mass erase is FF FF 00', async (t) => {
  await withPeer(t, [{ expect: [0x44, 0xbb] }, { send: [ACK] }, { expect: [0xff, 0xff, 0x00] }, { send: [ACK] }], (c) => c.extendedErase('mass'));
  t.pass();
});

test('Extended Erase: page list is N-1, pages, XOR — all 16-bit MSB first', async (t) => {
  await withPeer(
    t,
    [{ expect: [0x44, 0xbb] }, { send: [ACK] }, { expect: [0x00, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01, 0x02, 0x00] }, { send: [ACK] }],
    (c) => c.extendedErase([0, 1, 0x102]),
  );
  t.pass();
});

// AN3155 §3.7: Erase 43 BC; global erase is FF then 00 (its checksum); a page list is
// N-1 (one byte), the page numbers (one byte each), then the XOR of all of them.
test('Erase (0x43): global FF 00, pages N-1 pages XOR', async (t) => {
  await withPeer(
    t,
    [
      { expect: [0x43, 0xbc] },
      { send: [ACK] },
      { expect: [0xff, 0x00] },
      { send: [ACK] },
      { expect: [0x43, 0xbc] },
      { send: [ACK] },
      { expect: [0x01, 0x05, 0x06, 0x02] },
      { send: [ACK] },
    ],
    async (c) => {
      await c.erase('mass');
      await c.erase([5, 6]);
    },
  );
  t.pass();
});

test('Go: 21 DE, address + XOR', async (t) => {
  await withPeer(t, [{ expect: [0x21, 0xde] }, { send: [ACK] }, { expect: [0x08, 0x00, 0x00, 0x00, 0x08] }, { send: [ACK] }], (c) => c.go(0x08000000));
  t.pass();
});

// AN3155 §3, note 2 to the command table: with readout protection (RDP) active only Get,
// Get Version, Get ID (and Readout Unprotect) are served; every other command is NACKed
// at its first byte pair. The client reports that as code 'read-protected'.
test('read-protected chip: Read Memory 11 EE → NACK is code "read-protected"', async (t) => {
  const err = await t.throwsAsync(
    withPeer(t, [{ expect: [0x11, 0xee] }, { send: [NACK] }], (c) => c.readMemory(0x08000000, 4)),
    { instanceOf: BootloaderError },
  );
  t.is(err?.code, 'read-protected');
  t.is(err?.message, 'Read Memory at 0x08000000: refused (readout protection is active)');
});

test('read-protected chip: Write Memory 31 CE, Erase 43 BC, Extended Erase 44 BB and Go 21 DE → NACK', async (t) => {
  const codes = await withPeer(
    t,
    [
      { expect: [0x31, 0xce] }, { send: [NACK] },
      { expect: [0x43, 0xbc] }, { send: [NACK] },
      { expect: [0x44, 0xbb] }, { send: [NACK] },
      { expect: [0x21, 0xde] }, { send: [NACK] },
    ],
    async (c) => {
      const seen: unknown[] = [];
      for (const op of [() => c.writeMemory(0x08000000, new Uint8Array(4)), () => c.erase('mass'), () => c.extendedErase('mass'), () => c.go(0x08000000)]) {
        seen.push(await op().then(() => 'ok', (err: unknown) => (err instanceof BootloaderError ? err.code : err)));
      }
      return seen;
    },
  );
  t.deepEqual(codes, ['read-protected', 'read-protected', 'read-protected', 'read-protected']);
});

test('read-protected chip still answers Get ID (02 FD → 79 01 04 10 79)', async (t) => {
  t.is(await withPeer(t, [{ expect: [0x02, 0xfd] }, { send: [ACK, 0x01, 0x04, 0x10, ACK] }], (c) => c.getId()), 0x410);
});

test('Readout Unprotect: 92 6D → ACK, (whole flash erased) ACK', async (t) => {
  await withPeer(t, [{ expect: [0x92, 0x6d] }, { send: [ACK] }, { send: [ACK] }], (c) => c.readoutUnprotect());
  t.pass();
});

test('Readout Unprotect refused (erase failed): second answer NACK', async (t) => {
  const err = await t.throwsAsync(withPeer(t, [{ expect: [0x92, 0x6d] }, { send: [ACK, NACK] }], (c) => c.readoutUnprotect()), { instanceOf: BootloaderError });
  t.is(err?.code, 'nack');
});

test('Readout Protect: 82 7D → ACK ACK; NACK at once when already protected', async (t) => {
  await withPeer(t, [{ expect: [0x82, 0x7d] }, { send: [ACK, ACK] }], (c) => c.readoutProtect());
  const err = await t.throwsAsync(withPeer(t, [{ expect: [0x82, 0x7d] }, { send: [NACK] }], (c) => c.readoutProtect()), { instanceOf: BootloaderError });
  t.is(err?.code, 'read-protected');
});

test('a NACK after the command pair is reported with the command and phase', async (t) => {
  const err = await t.throwsAsync(
    withPeer(t, [{ expect: [0x11, 0xee] }, { send: [ACK] }, { expect: [...encodeAddress(0x1fff0000)] }, { send: [NACK] }], (c) => c.readMemory(0x1fff0000, 4)),
    { instanceOf: BootloaderError },
  );
  t.is(err?.code, 'nack');
  t.is(err?.message, 'Read Memory at 0x1FFF0000 (address): bootloader answered NACK');
});

test('a NACK on the address phase names the phase', async (t) => {
  const err = await t.throwsAsync(
    withPeer(t, [{ expect: [0x31, 0xce] }, { send: [ACK] }, { expect: [...encodeAddress(0x1fff0000)] }, { send: [NACK] }], (c) =>
      c.writeMemory(0x1fff0000, new Uint8Array(4)),
    ),
  );
  t.is(err?.message, 'Write Memory at 0x1FFF0000 (address): bootloader answered NACK');
});

test('an unexpected answer byte is an error', async (t) => {
  const err = await t.throwsAsync(withPeer(t, [{ expect: [0x01, 0xfe] }, { send: [0x42] }], (c) => c.getVersion()), { instanceOf: BootloaderError });
  t.is(err?.code, 'unexpected');
});

test('a closed link fails the command with code "closed"', async (t) => {
  const auto = autoClock();
  const pair = createMemoryLinkPair();
  const client = new An3155Client({ link: pair.a, clock: auto.clock });
  pair.b.onData(() => pair.disconnect());
  const err = await t.throwsAsync(client.getId(), { instanceOf: BootloaderError });
  t.is(err?.code, 'closed');
  auto.stop();
});

test('resync completes a pending Write Memory data block and returns to command state', async (t) => {
  const burst = new Array<number>(258).fill(0x7f);
  await withPeer(
    t,
    [
      // The bootloader is still waiting for 100 data bytes: the first two probes
      // are swallowed, the burst completes the block (bad checksum → NACK) and the
      // remaining 160 bytes are 80 invalid command pairs (→ 80 NACKs).
      { expect: [0x7f] },
      { expect: [0x7f] },
      { expect: burst },
      { send: new Array<number>(81).fill(NACK) },
      // Now idle at command state: lone 0x7F silent, the pair NACKed.
      { expect: [0x7f] },
      { expect: [0x7f] },
      { send: [NACK] },
    ],
    (c) => c.resync(),
  );
  t.pass();
});

test('chip check: Get ID 0x410 on an stm32f103 gives 1 KB pages; a 4-byte read answered means no readout protection', async (t) => {
  const geometry = flashGeometryFor('stm32f103');
  if (!geometry) throw new Error('no geometry');
  const idle = autoClock(); // checkChip needs link and clock only to unprotect
  t.teardown(() => idle.stop());
  const r = await withPeer(
    t,
    [
      { expect: [0x02, 0xfd] }, { send: [ACK, 0x01, 0x04, 0x10, ACK] },
      { expect: [0x11, 0xee] }, { send: [ACK] }, { expect: [...encodeAddress(0x08000000)] }, { send: [ACK] }, { expect: [0x03, 0xfc] }, { send: [ACK, 0, 0x50, 0, 0x20] },
    ],
    (c) => checkChip(c, { link: createMemoryLinkPair().a, clock: idle.clock, geometry: { ...geometry, pageSize: 2048 } }),
  );
  t.is(r.geometry.pageSize, 1024, 'from the chip id, not the profile');
  t.false(r.protected);
});

test('chip check: a product id of another family is refused before anything is written', async (t) => {
  const geometry = flashGeometryFor('stm32f103');
  if (!geometry) throw new Error('no geometry');
  const idle = autoClock();
  t.teardown(() => idle.stop());
  const err = await t.throwsAsync(
    withPeer(t, [{ expect: [0x02, 0xfd] }, { send: [ACK, 0x01, 0x04, 0x13, ACK] }], (c) => checkChip(c, { link: createMemoryLinkPair().a, clock: idle.clock, geometry })),
    { instanceOf: BootloaderError },
  );
  t.is(err?.message, 'the bootloader reports product id 0x413, not an stm32f103: nothing was written');
});
