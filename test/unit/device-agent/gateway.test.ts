import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { safePortLister } from '../../../src/device-agent/gateway/port-discovery.js';
import { telemetryMessage } from '../../../src/device-agent/gateway/telemetry-message.js';
import { McuPort } from '../../../src/device-agent/gateway/mcu-port.js';
import { createMemoryLinkPair, createSystemClock, decodeTelemetry, encodeTelemetry, type ByteLink } from '../../../src/firmware/index.js';
import { mcuTelemetrySchema } from '../../../src/protocol/index.js';
import { makeTempDir } from '../../support/paths.js';
import { waitFor } from '../../support/wait.js';
import { FakeMcu, IDENTITY } from '../firmware/helpers/fake-mcu.js';

test('a TELEMETRY frame becomes the protocol message, in physical units, with its sample index', (t) => {
  const telemetry = decodeTelemetry(encodeTelemetry(1234, [{ id: 1, raw: -4500 }, { id: 2, raw: 3000 }, { id: 3, raw: 707 }, { id: 8, raw: 42 }, { id: 99, raw: 5 }]));
  const message = telemetryMessage('stm32f103-01', 'stm32f103', telemetry, new Date('2026-01-01T00:00:00Z'));
  t.true(mcuTelemetrySchema.safeParse(message).success);
  t.is(message.sampleIndex, 42);
  t.deepEqual(message.channels.slice(0, 3), [
    { id: 1, name: 'pitch', unit: 'deg', value: -45 },
    { id: 2, name: 'roll', unit: 'deg', value: 30 },
    { id: 3, name: 'accel_x', unit: 'mg', value: 707 },
  ]);
  t.deepEqual(message.channels[4], { id: 99, name: 'channel_99', unit: '', value: 5 });
});

test('port discovery never throws: missing udevadm, a failing list and non-MCU ports all end in a list', async (t) => {
  const warnings: string[] = [];
  const log = { ...createLogger('test', 'error', () => undefined), warn: (m: string) => void warnings.push(m) };
  const bin = await makeTempDir();
  t.teardown(() => bin.remove());
  await writeFile(join(bin.path, 'udevadm'), '#!/bin/sh\n', { mode: 0o755 });
  const withUdev = { PATH: bin.path };
  const listed = (): Promise<{ path: string }[]> => Promise.resolve([{ path: '/dev/ttyUSB0' }, { path: '/dev/ttyS0' }, { path: '/dev/ttyACM1' }]);
  t.deepEqual(await safePortLister(listed, log, withUdev)(), ['/dev/ttyUSB0', '/dev/ttyACM1'], 'USB serial adapters and CDC-ACM only');
  t.deepEqual(await safePortLister(() => Promise.reject(new Error('spawn udevadm ENOENT')), log, withUdev)(), []);
  if (process.platform === 'linux') t.deepEqual(await safePortLister(listed, log, { PATH: '' })(), [], 'not even tried without udevadm');
  t.true(warnings.some((w) => w.includes('spawn udevadm ENOENT')));
});

test('a port identifies its MCU, hands on telemetry, goes offline when the link closes and comes back on reopen', async (t) => {
  let opens = 0;
  let current: { host: ByteLink; mcu: FakeMcu; disconnect(): void } | undefined;
  const changes: boolean[] = [];
  const telemetry: number[] = [];
  const port = new McuPort({
    path: '/dev/ttyUSB9',
    open: () => {
      opens += 1;
      const pair = createMemoryLinkPair();
      current = { host: pair.a, mcu: new FakeMcu(pair.b), disconnect: () => pair.disconnect(new Error('unplugged')) };
      return Promise.resolve(pair.a);
    },
    clock: createSystemClock(),
    telemetryIntervalMs: 200,
    silenceMs: 60_000,
    reopenMs: 20,
    identifyBackoff: { baseMs: 10, maxMs: 50 },
    requestTimeoutMs: 30,
    onTelemetry: (mcuId, _identity, t2) => {
      if (mcuId === 'stm32f103-a1b2c3d4e5f60718') telemetry.push(t2.uptimeMs);
    },
    onChange: () => changes.push(port.state.online),
    log: createLogger('test', 'error', () => undefined),
  });
  t.teardown(() => port.stop());
  port.start();
  await waitFor('identified', () => port.state.online, 5000, 5);
  t.is(port.mcuId, 'stm32f103-a1b2c3d4e5f60718');
  t.is(port.state.identity?.firmwareVersion, IDENTITY.firmwareVersion);
  await current?.mcu.sendTelemetry(777, [{ id: 1, raw: 100 }]);
  await waitFor('telemetry forwarded', () => telemetry.includes(777), 5000, 5);
  current?.disconnect();
  await waitFor('offline after the link closed', () => !port.state.online, 5000, 5);
  t.is(port.state.identity?.model, 'stm32f103', 'the MCU stays listed while offline');
  await waitFor('online after reopening', () => port.state.online && opens >= 2, 5000, 5);
  t.deepEqual(changes.slice(0, 3), [true, false, true]);
});

test('a port whose MCU stops answering is closed and opened again (a dead pty does not always report its close)', async (t) => {
  const opened: FakeMcu[] = [];
  const port = new McuPort({
    path: '/dev/ttyUSB8',
    open: () => {
      const pair = createMemoryLinkPair();
      const mcu = new FakeMcu(pair.b);
      mcu.inBootloader = opened.length === 0 ? false : opened.length < 2; // answers, goes deaf, answers again after two reopens
      opened.push(mcu);
      return Promise.resolve(pair.a);
    },
    clock: createSystemClock(),
    telemetryIntervalMs: 200,
    silenceMs: 100,
    reopenMs: 10,
    identifyBackoff: { baseMs: 5, maxMs: 20 },
    requestTimeoutMs: 30,
    onTelemetry: () => undefined,
    onChange: () => undefined,
    log: createLogger('test', 'error', () => undefined),
  });
  t.teardown(() => port.stop());
  port.start();
  await waitFor('identified', () => port.state.online, 5000, 5);
  const first = opened[0];
  if (first) first.inBootloader = true; // silent from now on, and its link never closes
  await waitFor('offline', () => !port.state.online, 5000, 5);
  await waitFor('online again on a reopened port', () => port.state.online && opened.length >= 3, 10_000, 5);
  t.pass();
});

test('a flash that arrives while the port is closed opens it rather than failing', async (t) => {
  let attempts = 0;
  const port = new McuPort({
    path: '/dev/ttyUSB7',
    open: () => {
      attempts += 1;
      if (attempts === 1) return Promise.reject(new Error('No such file or directory'));
      const pair = createMemoryLinkPair();
      new FakeMcu(pair.b);
      return Promise.resolve(pair.a);
    },
    clock: createSystemClock(),
    telemetryIntervalMs: 200,
    silenceMs: 60_000,
    reopenMs: 60_000, // the supervisor would not try again before the test ends
    identifyBackoff: { baseMs: 10, maxMs: 50 },
    requestTimeoutMs: 30,
    onTelemetry: () => undefined,
    onChange: () => undefined,
    log: createLogger('test', 'error', () => undefined),
  });
  t.teardown(() => port.stop());
  port.start();
  await waitFor('the first open to fail', () => attempts === 1, 5000, 5);
  const lent = await port.exclusive((access) => Promise.resolve(access.link.isOpen));
  t.true(lent);
  t.is(attempts, 2);
});

test('a port handed over to a Job is closed (nobody reads the tty beside the Job), stays listed, and is opened and identified again when given back', async (t) => {
  let opens = 0;
  let closes = 0;
  const port = new McuPort({
    path: '/dev/ttyUSB6',
    open: () => {
      opens += 1;
      const pair = createMemoryLinkPair();
      new FakeMcu(pair.b);
      const close = pair.a.close.bind(pair.a);
      pair.a.close = () => {
        closes += 1;
        return close();
      };
      return Promise.resolve(pair.a);
    },
    clock: createSystemClock(),
    telemetryIntervalMs: 200,
    silenceMs: 60_000,
    reopenMs: 20,
    identifyBackoff: { baseMs: 10, maxMs: 50 },
    requestTimeoutMs: 30,
    onTelemetry: () => undefined,
    onChange: () => undefined,
    log: createLogger('test', 'error', () => undefined),
  });
  t.teardown(() => port.stop());
  port.start();
  await waitFor('identified', () => port.state.online, 5000, 5);
  const giveBack = await port.handOver();
  t.is(closes, 1, 'the tty is closed for the Job');
  t.like(port.state, { open: false, handedOver: true, flashing: false });
  t.is(port.state.identity?.model, 'stm32f103', 'still listed');
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(opens, 1, 'not reopened while the Job holds it');
  await t.throwsAsync(port.exclusive(() => Promise.resolve()), { message: /held by a job/ });
  giveBack();
  await waitFor('open and identified again', () => port.state.open && port.state.online && opens === 2, 5000, 5);
  t.false(port.state.handedOver);
});

test('stopping a port handed over to a Job does not wait for the Job', async (t) => {
  const port = new McuPort({
    path: '/dev/ttyUSB5',
    open: () => {
      const pair = createMemoryLinkPair();
      new FakeMcu(pair.b);
      return Promise.resolve(pair.a);
    },
    clock: createSystemClock(),
    telemetryIntervalMs: 200,
    silenceMs: 60_000,
    reopenMs: 20,
    identifyBackoff: { baseMs: 10, maxMs: 50 },
    requestTimeoutMs: 30,
    onTelemetry: () => undefined,
    onChange: () => undefined,
    log: createLogger('test', 'error', () => undefined),
  });
  port.start();
  await waitFor('identified', () => port.state.online, 5000, 5);
  await port.handOver(); // never given back: the Job outlives the agent's gateway
  await port.stop();
  t.false(port.state.open);
});
