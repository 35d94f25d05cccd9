// Line faults and line rate on the emulated STM32F103 bench: each fault mode behaves as
// specified, garbage between frames is survivable, and flashing works throttled to
// 115200 8E1.
import test, { type ExecutionContext } from 'ava';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { startBench, type Bench, type BenchOptions } from '../../hardware/bench/bench.js';
import type { FaultEvent } from '../../hardware/bench/faults.js';
import { ACK, An3155Host, NACK } from './an3155-host.js';
import { buildFirmware, decodeAll, expectedTilt, HostPort, parseIdentity, parseTelemetry, temporaryDirectory } from './bench-host.js';

const FLASH_BASE = 0x08000000;
const work = temporaryDirectory('faults');
const build = path.join(work, 'build');
const benches: Bench[] = [];
const ports: HostPort[] = [];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
/** Long enough for an answer that is coming to arrive; used only to see that none does. */
const SILENCE_MS = 400;

test.before(() => {
  buildFirmware(build, '1.0.0', 'stm32');
  buildFirmware(build, '2.0.0', 'stm32');
});

test.after.always(async () => {
  await Promise.all(ports.map((port) => port.close()));
  await Promise.all(benches.map((bench) => bench.stop()));
  rmSync(work, { recursive: true, force: true });
});

async function openBench(t: ExecutionContext, label: string, options: Partial<BenchOptions>): Promise<{ bench: Bench; port: HostPort; faults: FaultEvent[] }> {
  const bench = await startBench({
    mcu: 'stm32f103',
    image: path.join(build, 'stm32f103-node-1.0.0.hex'),
    hostPath: path.join(work, `tty-${label}`),
    flashFile: path.join(work, `flash-${label}.bin`),
    ...options,
  });
  benches.push(bench);
  const faults: FaultEvent[] = [];
  bench.on('fault', (fault) => faults.push(fault));
  const port = await HostPort.open(bench.hostPath);
  ports.push(port);
  // Free the emulator as soon as the test is done: the machine is shared.
  t.teardown(async () => {
    await port.close();
    await bench.stop();
  });
  return { bench, port, faults };
}

test.serial('drop@1: app traffic is not counted; the first bootloader byte is lost', async (t) => {
  const { bench, port, faults } = await openBench(t, 'drop', { fault: 'drop@1' });
  t.is((await port.request(0x01, 1, Buffer.from('not counted')))?.type, 0x81);
  await bench.resetToBootloader();
  await port.settle(); // telemetry the application sent before the reset
  port.write([0x7f]);
  t.is(await port.maybeReadByte(SILENCE_MS), undefined, 'the dropped sync byte gets no answer');
  t.deepEqual(faults, [{ kind: 'drop', atByte: 1 }]);
  t.is(await new An3155Host(port).sync(), ACK, 'the next one does');
});

test.serial('corrupt@2: the command byte arrives xor 0x55 and is NACKed; the retry works', async (t) => {
  const { bench, port, faults } = await openBench(t, 'corrupt', { fault: 'corrupt@2' });
  await bench.resetToBootloader();
  await port.settle(); // telemetry the application sent before the reset
  const host = new An3155Host(port);
  t.is(await host.sync(), ACK);
  t.is(await host.command(0x02), NACK, '0x02^0x55 = 0x57 does not match its complement 0xFD');
  t.deepEqual(faults, [{ kind: 'corrupt', atByte: 2 }]);
  t.is(await host.getId(), 0x0410);
});

test.serial('cut@3:1500: both directions go dead, the MCU stays in its bootloader, then recovers', async (t) => {
  const { bench, port, faults } = await openBench(t, 'cut', { fault: 'cut@3:1500' });
  let cutEndsAt = 0;
  bench.on('fault', () => { cutEndsAt = Date.now() + 1500; });
  await bench.resetToBootloader();
  await port.settle(); // telemetry the application sent before the reset
  const host = new An3155Host(port);
  t.is(await host.sync(), ACK); // byte 1
  port.write([0x02, 0xfd]); // Get ID: bytes 2 and 3; byte 3 still arrives, then the cut
  t.is(await port.maybeReadByte(SILENCE_MS), undefined, 'the Get ID answer is lost');
  t.deepEqual(faults, [{ kind: 'cut', atByte: 3 }]);
  port.write([0x00, 0xff]); // lost on the way in
  await sleep(Math.max(0, cutEndsAt - Date.now()) + 50);
  t.is(bench.mode, 'bootloader');
  // stm32flash's resync: 0x7F is now read as a command byte, so it stays unanswered...
  port.write([0x7f]);
  t.is(await port.maybeReadByte(SILENCE_MS), undefined);
  // ...until a second byte completes a (non-matching) command pair: NACK.
  port.write([0x7f]);
  t.deepEqual(await port.readBytes(1), [NACK]);
  t.is(await host.getId(), 0x0410);
});

test.serial('garbage between telemetry frames: every frame still decodes with the right values', async (t) => {
  const { bench, port } = await openBench(t, 'garbage', { garbageEveryMs: 25, garbageSeed: 7 });
  let garbageBytes = 0;
  bench.on('garbage', (bytes) => { garbageBytes += bytes.length; });
  t.is((await port.request(0x03, 1, Buffer.from([50, 0])))?.type, 0x83);
  for (let received = 0; received < 12; received++) {
    const frame = await port.nextFrame((f) => f.type === 0x10);
    if (!frame) return t.fail('telemetry lost in the garbage');
    const { channels } = parseTelemetry(frame.payload);
    const expected = expectedTilt(channels.get(8) ?? -1);
    t.true(Math.abs((channels.get(1) ?? NaN) - expected.pitch) <= 2);
    t.true(Math.abs((channels.get(2) ?? NaN) - expected.roll) <= 2);
  }
  const identity = await port.request(0x02, 2);
  t.is(identity && parseIdentity(identity.payload).model, 'stm32f103');
  t.true(garbageBytes > 0, 'garbage was injected');
  const frameBytes = decodeAll(port.log, true).frames.reduce((sum, frame) => sum + frame.payload.length + 6, 0);
  t.true(port.log.length > frameBytes, 'the line carried more than the frames');
});

test.serial('throttled to 115200 8E1 with real flash timings: flash v2 and boot it', async (t) => {
  const { bench, port } = await openBench(t, 'throttled', { baud: 115200, bitsPerByte: 11 });
  t.is((await port.request(0x04, 1, Buffer.from([0xb0, 0x07, 0x10, 0xad])))?.type, 0x84);
  const host = new An3155Host(port);
  t.is(await host.sync(), ACK);
  const v2 = readFileSync(path.join(build, 'stm32f103-node-2.0.0.bin'));
  const started = performance.now();
  await host.flash(FLASH_BASE, 1024, v2);
  const seconds = (performance.now() - started) / 1000;
  t.log(`erase + write + verify of ${v2.length} bytes took ${seconds.toFixed(2)} s at 115200 8E1`);
  t.is(await host.go(FLASH_BASE), 'ack');
  t.is(bench.mode, 'app');
  const identity = await port.request(0x02, 2);
  t.is(identity && parseIdentity(identity.payload).version, '2.0.0');
});
