// The bench's STM32F10x medium-density ROM bootloader (the default for the stm32f103):
// what AN3155 and AN2606 say it answers, checked with the test's own AN3155 host.
import test, { type ExecutionContext } from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startBench, type Bench, type BenchOptions } from '../../hardware/bench/bench.js';
import { crc32 } from 'node:zlib';
import { ACK, An3155Host, NACK } from './an3155-host.js';
import { buildFirmware, HostPort, parseIdentity, temporaryDirectory } from './bench-host.js';

const FLASH_BASE = 0x08000000;
const SERIAL = '0123456789abcdef';
const ENTER_BOOTLOADER_MAGIC = [0xb0, 0x07, 0x10, 0xad];
const work = temporaryDirectory('f103');
const build = path.join(work, 'build');
const image = (name: string): string => path.join(build, name);

test.before(() => {
  buildFirmware(build, '1.0.0', 'stm32');
  buildFirmware(build, '2.0.0', 'stm32');
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

async function inBootloader(t: ExecutionContext, label: string, options: Partial<BenchOptions> = {}): Promise<{ bench: Bench; port: HostPort; host: An3155Host }> {
  const bench = await startBench({
    mcu: 'stm32f103',
    image: image('stm32f103-node-1.0.0.hex'),
    hostPath: path.join(work, `tty-${label}`),
    flashFile: path.join(work, `flash-${label}.bin`),
    serial: SERIAL,
    ...options,
  });
  const port = await HostPort.open(bench.hostPath);
  t.teardown(async () => {
    await port.close();
    await bench.stop();
  });
  t.is((await port.request(0x04, 1, Buffer.from(ENTER_BOOTLOADER_MAGIC)))?.type, 0x84);
  const host = new An3155Host(port);
  t.is(await host.sync(), ACK);
  return { bench, port, host };
}

async function identify(port: HostPort, seq: number): Promise<ReturnType<typeof parseIdentity> | undefined> {
  const reply = await port.request(0x02, seq);
  return reply && reply.type === 0x82 ? parseIdentity(reply.payload) : undefined;
}

test.serial('F103 ROM: Get v2.2 with Erase 0x43, Get ID 0x410, option bytes, system memory, SRAM, Erase 0x43', async (t) => {
  const { bench, port, host } = await inBootloader(t, 'rom');
  t.deepEqual(await host.get(), { version: 0x22, commands: [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x43, 0x63, 0x73, 0x82, 0x92] });
  t.is(await host.command(0x01), ACK);
  t.deepEqual(await port.readBytes(4), [0x22, 0x00, 0x00, ACK], 'Get Version: version and two 0x00 option bytes');
  t.is(await host.getId(), 0x0410);
  t.is(await host.command(0x44), NACK, 'no Extended Erase on this ROM');

  // Option bytes at 0x1FFFF800: RDP 0xA5 (unprotected), USER, Data0/1, WRP0..3, each with its complement.
  t.deepEqual(await host.readMemory(0x1fff_f800, 16), [0xa5, 0x5a, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00]);
  // Electronic signature at the end of system memory: flash size in KB (64), then the unique ID.
  t.deepEqual(await host.readMemory(0x1fff_f7e0, 2), [64, 0]);
  t.deepEqual((await host.readMemory(0x1fff_f7e8, 8)), [0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]);
  t.is(await host.readMemory(0x1fff_f810, 4), 'nack-address', 'past the option bytes');
  t.is(await host.writeMemory(0x1fff_f000, [1, 2, 3, 4]), 'nack-address', 'the ROM is not writable');
  t.is(await host.writeMemory(0x2000_0000, [1, 2, 3, 4]), 'nack-address', 'SRAM below 0x20000200 is the bootloader\'s');
  t.is(await host.writeMemory(0x2000_1000, [1, 2, 3, 4]), 'ack');
  t.deepEqual(await host.readMemory(0x2000_1000, 4), [1, 2, 3, 4]);

  // Erase 0x43: a page list (one byte per page), then flash v2 and boot it.
  t.is(await host.erase([1, 2]), 'ack');
  t.true(bench.flashImage().subarray(1024, 3072).every((byte) => byte === 0xff), 'pages 1 and 2 erased');
  t.false(bench.flashImage().subarray(0, 1024).every((byte) => byte === 0xff), 'page 0 kept');
  t.is(await host.erase([64]), 'nack', 'page 64 is past the 64 KB flash');
  port.write([0x43, 0xbc]);
  t.deepEqual(await port.readBytes(1), [ACK]);
  port.write([0x00, 0x01, 0x00]); // one page (N-1 = 0), page 1, wrong checksum (0x01)
  t.deepEqual(await port.readBytes(1), [NACK], 'Erase page list with a bad checksum');
  await host.flash(FLASH_BASE, 1024, readFileSync(image('stm32f103-node-2.0.0.bin')));
  t.is(await host.go(FLASH_BASE), 'ack');
  t.is((await identify(port, 2))?.version, '2.0.0');
});

test.serial('read-protected F103: only Get/Get Version/Get ID served; Readout Unprotect erases all and resets (BOOT0 high: back in the ROM)', async (t) => {
  const resets: string[] = [];
  const { bench, port, host } = await inBootloader(t, 'rdp', { readProtected: true, boot0: 'high' });
  bench.on('system-reset', () => resets.push('reset'));
  t.is((await host.get()).version, 0x22);
  t.is(await host.getId(), 0x0410);
  t.is(await host.readMemory(FLASH_BASE, 4), 'nack-command');
  t.is(await host.readMemory(0x1fff_f800, 4), 'nack-command', 'option bytes too');
  t.is(await host.writeMemory(FLASH_BASE, [0, 0, 0, 0]), 'nack-command');
  t.is(await host.erase('mass'), 'nack-command');
  t.is(await host.go(FLASH_BASE), 'nack-command');
  t.is(await host.readout(true), 'nack-command', 'Readout Protect while protected');
  t.false(bench.flashImage().every((byte) => byte === 0xff), 'nothing erased yet');

  t.is(await host.readout(false), 'ack', 'Readout Unprotect: ACK, erase, ACK');
  t.true(bench.flashImage().every((byte) => byte === 0xff), 'the whole flash is erased');
  t.deepEqual(resets, ['reset']);
  // After the reset the ROM waits for 0x7F again (BOOT0 held high).
  await port.settle();
  t.is(await host.sync(), ACK);
  t.deepEqual(await host.readMemory(0x1fff_f800, 2), [0xa5, 0x5a]);
  t.deepEqual(await host.readMemory(FLASH_BASE, 4), [0xff, 0xff, 0xff, 0xff]);
});

test.serial('Readout Protect: the ROM resets, the application still runs, its bootloader then refuses reads', async (t) => {
  const { port, host } = await inBootloader(t, 'protect');
  t.is(await host.readout(true), 'ack');
  // BOOT0 low: the reset starts the application from flash; RDP does not stop it running.
  t.is((await identify(port, 3))?.version, '1.0.0');
  t.is((await port.request(0x04, 4, Buffer.from(ENTER_BOOTLOADER_MAGIC)))?.type, 0x84);
  t.is(await host.sync(), ACK);
  t.is(await host.readMemory(FLASH_BASE, 4), 'nack-command');
  t.is(await host.getId(), 0x0410);
});

test.serial('Write Protect 0x63 on sector 0 (pages 0-3): erasing page 1 is refused until Write Unprotect', async (t) => {
  const { bench, port, host } = await inBootloader(t, 'wrp', { boot0: 'high' });
  t.is(await host.command(0x63), ACK);
  port.write([0x00, 0x00, 0x00]); // one sector (N-1 = 0), sector 0, checksum
  t.deepEqual(await port.readBytes(1), [ACK]);
  await port.settle();
  t.is(await host.sync(), ACK, 'back after the reset');
  t.deepEqual(await host.readMemory(0x1fff_f808, 2), [0xfe, 0x01], 'WRP0 bit 0 cleared');
  t.is(await host.erase([1]), 'nack');
  t.false(bench.flashImage().subarray(1024, 2048).every((byte) => byte === 0xff));
  t.is(await host.command(0x73), ACK);
  t.deepEqual(await port.readBytes(1), [ACK]);
  await port.settle();
  t.is(await host.sync(), ACK);
  t.is(await host.erase([1]), 'ack');
});

test.serial('IDENTIFY with the image check: the firmware reports the CRC-32 of its flash, serial counted as built', async (t) => {
  const bench = await startBench({
    mcu: 'stm32f103',
    image: image('stm32f103-node-1.0.0.hex'),
    hostPath: path.join(work, 'tty-crc'),
    flashFile: path.join(work, 'flash-crc.bin'),
    serial: 'fedcba9876543210', // not the build's: the bench patches it into what runs
  });
  const port = await HostPort.open(bench.hostPath);
  t.teardown(async () => {
    await port.close();
    await bench.stop();
  });
  const bin = readFileSync(image('stm32f103-node-1.0.0.bin'));
  const length = bin.length;
  const reply = await port.request(0x02, 7, Buffer.from([0x01, length & 0xff, (length >> 8) & 0xff, 0, 0]));
  t.is(reply?.type, 0x82);
  const payload = reply?.payload ?? Buffer.alloc(0);
  const checkAt = payload.length - 8;
  t.is(payload.readUInt32LE(checkAt), length);
  t.is(payload.readUInt32LE(checkAt + 4), crc32(bin), 'CRC-32 of the image as built');
  t.is(parseIdentity(payload.subarray(0, checkAt)).serial, 'fedcba9876543210', 'while it reports the chip serial');
  // Past the 64 KB flash: the plain IDENTITY; an empty IDENTIFY: the plain IDENTITY too.
  t.is((await port.request(0x02, 8, Buffer.from([0x01, 0x01, 0x00, 0x01, 0x00])))?.payload.length, checkAt);
  t.is((await port.request(0x02, 9))?.payload.length, checkAt);
});
