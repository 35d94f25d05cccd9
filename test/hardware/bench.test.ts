// The emulated STM32F103 bench end to end: firmware built from source with make, run in
// QEMU, reached over the bench's pty with serialport, checked with the test's own codec.
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { lstatSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { startBench, type Bench, type BenchOptions } from '../../hardware/bench/bench.js';
import { ACK, An3155Host, NACK } from './an3155-host.js';
import {
  buildFirmware, expectedTilt, GENERATOR, HostPort, parseIdentity, parseTelemetry, REPO_ROOT, temporaryDirectory,
} from './bench-host.js';

const FLASH_BASE = 0x08000000;
const PAGE_SIZE = 1024;
const SERIAL = '0123456789abcdef';
const work = temporaryDirectory('stm32');
const build = path.join(work, 'build');
const image = (name: string): string => path.join(build, name);
const benches: Bench[] = [];
const ports: HostPort[] = [];

test.before(() => {
  buildFirmware(build, '1.0.0', 'stm32');
  buildFirmware(build, '2.0.0', 'stm32');
  buildFirmware(build, '9.9.9', 'stm32-silent');
});

test.after.always(async () => {
  await Promise.all(ports.map((port) => port.close()));
  await Promise.all(benches.map((bench) => bench.stop()));
  rmSync(work, { recursive: true, force: true });
});

async function openBench(t: ExecutionContext, label: string, options: Partial<BenchOptions> = {}): Promise<{ bench: Bench; port: HostPort }> {
  const bench = await startBench({
    mcu: 'stm32f103',
    image: image('stm32f103-node-1.0.0.hex'),
    hostPath: path.join(work, `tty-${label}`),
    flashFile: path.join(work, `flash-${label}.bin`),
    serial: SERIAL,
    ...options,
  });
  benches.push(bench);
  const port = await HostPort.open(bench.hostPath);
  ports.push(port);
  // Free the emulator as soon as the test is done: the machine is shared.
  t.teardown(async () => {
    await port.close();
    await bench.stop();
  });
  return { bench, port };
}

async function identify(port: HostPort, seq: number): Promise<ReturnType<typeof parseIdentity> | undefined> {
  const reply = await port.request(0x02, seq);
  return reply && reply.type === 0x82 ? parseIdentity(reply.payload) : undefined;
}

test.serial('PING is echoed, IDENTIFY reports model, version, serial and application', async (t) => {
  const { port } = await openBench(t, 'identify');
  // 0xA5 and 0x18 inside the payload: framing must not care.
  const payload = Buffer.from([0xa5, 0x18, 0x7f, 0x00, 0xff, 0x42]);
  const pong = await port.request(0x01, 0x11, payload);
  t.is(pong?.type, 0x81);
  t.deepEqual(pong?.payload, payload);
  t.deepEqual(await identify(port, 0x12), {
    protocol: 1, version: '1.0.0', serial: SERIAL, model: 'stm32f103', application: 'env-node',
  });
});

test.serial('errors: unknown type, bad lengths, bad magic', async (t) => {
  const { port } = await openBench(t, 'errors');
  t.deepEqual([...(await port.request(0x55, 1))?.payload ?? []], [0x55, 1]);
  t.deepEqual([...(await port.request(0x01, 2, Buffer.alloc(17)))?.payload ?? []], [0x01, 2]);
  t.deepEqual([...(await port.request(0x03, 3, Buffer.from([1])))?.payload ?? []], [0x03, 2]);
  t.deepEqual([...(await port.request(0x04, 4, Buffer.from([0xb0, 0x07, 0x10, 0xae])))?.payload ?? []], [0x04, 4]);
});

test.serial('telemetry: SET_RATE, all 8 generator samples with pitch/roll within 0.02 deg of the JS reference', async (t) => {
  const { port } = await openBench(t, 'telemetry');
  const ack = await port.request(0x03, 0x21, Buffer.from([20, 0]));
  t.is(ack?.type, 0x83);
  t.is(ack?.payload.readUInt16LE(0), 50, 'intervals below 50 ms are raised to 50');
  const seen = new Set<number>();
  let previousMillis = -1;
  while (seen.size < 8) {
    const frame = await port.nextFrame((f) => f.type === 0x10);
    if (!frame) return t.fail('telemetry stopped');
    const { millis, channels } = parseTelemetry(frame.payload);
    const index = channels.get(8) ?? -1;
    const expected = expectedTilt(index);
    t.true(Math.abs((channels.get(1) ?? NaN) - expected.pitch) <= 2, `pitch of sample ${index}`);
    t.true(Math.abs((channels.get(2) ?? NaN) - expected.roll) <= 2, `roll of sample ${index}`);
    t.deepEqual([channels.get(3), channels.get(4), channels.get(5)],
      [GENERATOR.x[index % 8], GENERATOR.y[index % 8], GENERATOR.z[index % 8]]);
    t.is(channels.get(6), 2500 + 10 * (index % 8), 'temperature channel');
    t.is(channels.size, 7);
    t.true(millis > previousMillis, 'milliseconds since boot grow');
    previousMillis = millis;
    seen.add(index % 8);
  }
  const stop = await port.request(0x03, 0x22, Buffer.from([0, 0]));
  t.is(stop?.payload.readUInt16LE(0), 0);
  port.drain();
  t.is(await port.nextFrame((f) => f.type === 0x10, 400), undefined, 'no telemetry after SET_RATE 0');
});

test.serial('ext-erase bootloader: enter, sync, Get, Get ID, Read Memory equals the image, flash v2, Go boots v2', async (t) => {
  const { bench, port } = await openBench(t, 'flash', { bootloader: 'ext-erase' });
  const v1 = readFileSync(image('stm32f103-node-1.0.0.bin'));
  const v2 = readFileSync(image('stm32f103-node-2.0.0.bin'));
  const commands: number[] = [];
  bench.on('bootloader-command', (code) => commands.push(code));

  const ack = await port.request(0x04, 0x31, Buffer.from([0xb0, 0x07, 0x10, 0xad]));
  t.is(ack?.type, 0x84);
  t.is(bench.mode, 'bootloader');
  const host = new An3155Host(port);
  t.is(await host.sync(), ACK);
  const get = await host.get();
  t.is(get.version, 0x31);
  t.deepEqual(get.commands, [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44]);
  t.is(await host.getId(), 0x0410);
  t.deepEqual(await host.readMemory(FLASH_BASE, 256), [...v1.subarray(0, 256)]);

  // Protocol errors are NACKed and the bootloader keeps serving.
  port.write([0x11, 0x11]);
  t.deepEqual(await port.readBytes(1), [NACK], 'command without its complement');
  t.is(await host.command(0x43), NACK, 'legacy Erase: this bootloader has Extended Erase');
  t.is(await host.readMemory(0x20000000, 16), 'nack-address', 'outside the flash');
  t.is(await host.writeMemory(FLASH_BASE + 2, [1, 2, 3, 4]), 'nack-address', 'unaligned');
  t.is(await host.writeMemory(FLASH_BASE + 0x8000, [1, 2, 3]), 'nack-data', 'not a whole word');

  // Writing over programmed flash without erasing: NACK, and the cells hold old AND new.
  const before = v1.subarray(0, 8);
  t.is(await host.writeMemory(FLASH_BASE, [0x0f, 0x0f, 0x0f, 0x0f, 0xf0, 0xf0, 0xf0, 0xf0]), 'nack-data');
  const anded = [...before].map((byte, i) => byte & (i < 4 ? 0x0f : 0xf0));
  t.deepEqual([...bench.flashImage().subarray(0, 8)], anded);

  await host.flash(FLASH_BASE, PAGE_SIZE, v2);
  const flashed = bench.flashImage();
  t.true(Buffer.from(flashed.subarray(0, v2.length)).equals(v2));
  t.is(await host.go(FLASH_BASE), 'ack');
  t.deepEqual(await identify(port, 0x32), {
    protocol: 1, version: '2.0.0', serial: SERIAL, model: 'stm32f103', application: 'env-node',
  });
  t.is(bench.mode, 'app');
  t.true(commands.includes(0x44) && commands.includes(0x31) && commands.includes(0x21));
});

test.serial('the flash persists across bench restarts; mass erase; power cycle restarts the application', async (t) => {
  const flashFile = path.join(work, 'flash-persist.bin');
  const first = await openBench(t, 'persist', { flashFile });
  t.is(await first.port.request(0x04, 1, Buffer.from([0xb0, 0x07, 0x10, 0xad])).then((f) => f?.type), 0x84);
  const host = new An3155Host(first.port);
  t.is(await host.sync(), ACK);
  t.is(await host.erase('mass'), 'ack', 'the F103 ROM: global Erase (0x43) FF 00');
  t.true(first.bench.flashImage().every((byte) => byte === 0xff), 'mass erase leaves 0xFF everywhere');
  await host.flash(FLASH_BASE, PAGE_SIZE, readFileSync(image('stm32f103-node-2.0.0.bin')));
  await first.port.close();
  await first.bench.stop();

  // Same flash file, different --image: the flash file wins.
  const second = await openBench(t, 'persist-again', { flashFile, image: image('stm32f103-node-1.0.0.hex') });
  t.is((await identify(second.port, 2))?.version, '2.0.0');

  await second.port.request(0x03, 3, Buffer.from([50, 0]));
  await second.port.nextFrame((f) => f.type === 0x10 && (parseTelemetry(f.payload).channels.get(8) ?? 0) >= 3);
  await second.bench.powerCycle();
  const afterCycle = await second.port.request(0x03, 4, Buffer.from([50, 0]));
  t.is(afterCycle?.type, 0x83);
  const firstAfterCycle = await second.port.nextFrame((f) => f.type === 0x10);
  t.is(firstAfterCycle && parseTelemetry(firstAfterCycle.payload).channels.get(8), 0, 'sample index restarts at 0');
});

test.serial('resetToBootloader (BOOT0) and Go back without flashing', async (t) => {
  const { bench, port } = await openBench(t, 'boot0');
  await bench.resetToBootloader();
  await port.settle(); // telemetry the application sent before the reset
  t.is(bench.mode, 'bootloader');
  const host = new An3155Host(port);
  t.is(await host.sync(), ACK);
  t.is(await host.go(FLASH_BASE + 4), 'nack-address', 'only the reset vector can be started');
  t.is(await host.go(FLASH_BASE), 'ack');
  t.is((await identify(port, 5))?.version, '1.0.0');
});

test.serial('the silent variant boots and answers PING but never IDENTIFY', async (t) => {
  const { port } = await openBench(t, 'silent', { image: image('stm32f103-node-silent-9.9.9.hex') });
  t.is((await port.request(0x01, 1, Buffer.from('up')))?.type, 0x81);
  t.is(await port.request(0x02, 2, Buffer.alloc(0), 1500), undefined);
  t.is((await port.request(0x01, 3, Buffer.from('still')))?.type, 0x81);
});

test.serial('unplug removes the host pty, replug brings it back at the same path', async (t) => {
  const { bench, port } = await openBench(t, 'unplug');
  await bench.unplug();
  t.false(existsOrLink(bench.hostPath));
  // serialport does not always see a hangup on a pty whose other end vanished, so the proof
  // is that nothing answers on the old link any more (the gateway relies on the same).
  const reply = port.closed ? undefined : await port.request(0x01, 8, Buffer.from('gone'), 1500).catch(() => undefined);
  t.is(reply, undefined, 'nothing answers on the unplugged link');
  await bench.replug();
  t.true(existsOrLink(bench.hostPath));
  const again = await HostPort.open(bench.hostPath);
  ports.push(again);
  t.is((await again.request(0x01, 9, Buffer.from('back')))?.type, 0x81);
});

test.serial('CLI: prints the ready line, serves the link, cleans up on SIGTERM', async (t) => {
  const link = path.join(work, 'tty-cli');
  const cli = spawn(process.execPath, [
    path.join(REPO_ROOT, 'dist/hardware/bench/main.js'), '--mcu', 'stm32f103',
    '--image', image('stm32f103-node-1.0.0.bin'), '--link', link, '--serial', SERIAL,
    '--flash-file', path.join(work, 'flash-cli.bin'),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(cli, 'exit');
  try {
    const [line] = (await once(createInterface({ input: cli.stdout }), 'line')) as [string];
    const ready = JSON.parse(line) as { ready: boolean; link: string; emulatorPid: number };
    t.true(ready.ready);
    t.is(ready.link, link);
    const port = await HostPort.open(link);
    ports.push(port);
    t.is((await identify(port, 1))?.serial, SERIAL);
    cli.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    t.is(code, 0);
    t.false(existsOrLink(link), 'the host pty link is gone');
    t.throws(() => process.kill(ready.emulatorPid, 0), undefined, 'the emulator is gone');
  } finally {
    if (cli.exitCode === null) cli.kill('SIGKILL');
  }
});

function existsOrLink(file: string): boolean {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

