// The emulated STC89C52 bench end to end: SDCC-built firmware in ucsim's s51, reached over
// the bench's pty. s51 simulates at about real time on a whole host core, so the tests
// run one after another.
import test from 'ava';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { startBench, type Bench } from '../../hardware/bench/bench.js';
import { ACK, An3155Host } from './an3155-host.js';
import {
  buildFirmware, expectedTilt, GENERATOR, HostPort, parseIdentity, parseTelemetry, readIntelHexImage, temporaryDirectory,
} from './bench-host.js';

const FLASH_SIZE = 8192;
const PAGE_SIZE = 512;
const SERIAL = 'c0ffee0000c52c52';
const work = temporaryDirectory('stc');
const build = path.join(work, 'build');
let bench: Bench | undefined;
let port: HostPort | undefined;

test.before(async () => {
  buildFirmware(build, '1.0.0', 'stc89c52');
  buildFirmware(build, '2.0.0', 'stc89c52');
  bench = await startBench({
    mcu: 'stc89c52',
    image: path.join(build, 'stc89c52-tilt-1.0.0.ihx'),
    hostPath: path.join(work, 'tty-stc'),
    flashFile: path.join(work, 'flash-stc.bin'),
    serial: SERIAL,
  });
  port = await HostPort.open(bench.hostPath);
});

test.after.always(async () => {
  await port?.close();
  await bench?.stop();
  rmSync(work, { recursive: true, force: true });
});

function ready(): { bench: Bench; port: HostPort } {
  if (!bench || !port) throw new Error('bench not started');
  return { bench, port };
}

/** An image's bytes from address 0 up to its last programmed byte, whole words. */
function imageBytes(file: string): Buffer {
  const image = readIntelHexImage(file, 0, FLASH_SIZE);
  let end = image.length;
  while (end > 0 && image[end - 1] === 0xff) end--;
  return image.subarray(0, Math.ceil(end / 4) * 4);
}

test.serial('PING, IDENTIFY and the error reply', async (t) => {
  const { port } = ready();
  const payload = Buffer.from([0xa5, 0x18, 0x7f, 0x11, 0x13, 0x00]);
  const pong = await port.request(0x01, 1, payload);
  t.deepEqual(pong?.payload, payload, '0x18 and XON/XOFF bytes reach the 8051 intact');
  const identity = await port.request(0x02, 2);
  t.deepEqual(identity && parseIdentity(identity.payload), {
    protocol: 1, version: '1.0.0', serial: SERIAL, model: 'stc89c52', application: 'tilt',
  });
  t.deepEqual([...(await port.request(0x42, 3))?.payload ?? []], [0x42, 1]);
});

test.serial('telemetry: all 8 generator samples, pitch/roll within 0.02 deg of the JS reference', async (t) => {
  const { port } = ready();
  const ack = await port.request(0x03, 4, Buffer.from([50, 0]));
  t.is(ack?.payload.readUInt16LE(0), 50);
  const seen = new Set<number>();
  while (seen.size < 8) {
    const frame = await port.nextFrame((f) => f.type === 0x10);
    if (!frame) return t.fail('telemetry stopped');
    const { channels } = parseTelemetry(frame.payload);
    const index = channels.get(8) ?? -1;
    const expected = expectedTilt(index);
    t.true(Math.abs((channels.get(1) ?? NaN) - expected.pitch) <= 2, `pitch of sample ${index}`);
    t.true(Math.abs((channels.get(2) ?? NaN) - expected.roll) <= 2, `roll of sample ${index}`);
    t.deepEqual([channels.get(3), channels.get(4), channels.get(5)],
      [GENERATOR.x[index % 8], GENERATOR.y[index % 8], GENERATOR.z[index % 8]]);
    t.is(channels.size, 6, 'no temperature channel on the tilt sensor');
    seen.add(index % 8);
  }
  t.is((await port.request(0x03, 5, Buffer.from([0, 0])))?.payload.readUInt16LE(0), 0);
});

test.serial('bootloader: Get ID, Read Memory equals the image, flash v2, Go boots v2', async (t) => {
  const { bench, port } = ready();
  port.drain();
  const ack = await port.request(0x04, 6, Buffer.from([0xb0, 0x07, 0x10, 0xad]));
  t.is(ack?.type, 0x84);
  t.is(bench.mode, 'bootloader');
  const host = new An3155Host(port);
  t.is(await host.sync(), ACK);
  t.is(await host.getId(), 0x0c52);
  const v1 = imageBytes(path.join(build, 'stc89c52-tilt-1.0.0.ihx'));
  t.deepEqual(await host.readMemory(0, 256), [...v1.subarray(0, 256)]);
  t.is(await host.readMemory(FLASH_SIZE - 4, 8), 'nack-length', 'past the end of the 8 KB flash');

  const v2 = imageBytes(path.join(build, 'stc89c52-tilt-2.0.0.ihx'));
  await host.flash(0, PAGE_SIZE, v2);
  t.is(await host.go(0), 'ack');
  t.is(bench.mode, 'app');
  const identity = await port.request(0x02, 7);
  t.is(identity && parseIdentity(identity.payload).version, '2.0.0');
  t.is(identity && parseIdentity(identity.payload).serial, SERIAL, 'the serial belongs to the chip, not the image');
});
