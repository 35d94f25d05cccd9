// The emulated STC89C52 bench end to end: SDCC-built firmware in ucsim's s51, reached over
// the bench's pty (flashing through its ISP loader: bench-stc89-isp.test.ts). s51 simulates at about real time on a whole host core, so the tests
// run one after another.
import test from 'ava';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { startBench, type Bench } from '../../hardware/bench/bench.js';
import {
  buildFirmware, expectedTilt, GENERATOR, HostPort, parseIdentity, parseTelemetry, temporaryDirectory,
} from './bench-host.js';

const SERIAL = 'c0ffee0000c52c52';
const work = temporaryDirectory('stc');
const build = path.join(work, 'build');
let bench: Bench | undefined;
let port: HostPort | undefined;

test.before(async () => {
  buildFirmware(build, '1.0.0', 'stc89c52');
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

test.serial('ENTER_BOOTLOADER: the firmware asks for a power cycle (its ISP loader runs only after power-on) and keeps running', async (t) => {
  const { bench, port } = ready();
  port.drain();
  const ack = await port.request(0x04, 6, Buffer.from([0xb0, 0x07, 0x10, 0xad]));
  t.is(ack?.type, 0x84);
  t.deepEqual([...(ack?.payload ?? [])], [0x01], 'PROTOCOL.md: 01 = power cycle needed');
  t.is(bench.mode, 'app', 'no jump: the application still owns the UART');
  const pong = await port.request(0x01, 7, Buffer.from([1, 2, 3]));
  t.deepEqual([...(pong?.payload ?? [])], [1, 2, 3]);
  const identity = await port.request(0x02, 8);
  t.is(identity && parseIdentity(identity.payload).serial, SERIAL);
});
