// The updater over the Flasher interface, with a loader like the STC89's (no read-back,
// every block checked while writing, entered by a power cycle): what it keeps, what it asks
// the new firmware, and the rollback through a second visit to the loader. Also the power
// control (DTR/RTS sequence, inverted lines, the technician's prompt) and the
// ENTER_BOOTLOADER_ACK that asks for a power cycle.
import test from 'ava';
import { parseRawBinary } from '../../../src/firmware/image/raw-binary.js';
import { createMemoryLinkPair } from '../../../src/firmware/link/memory-link.js';
import type { ByteLink, ControlLines } from '../../../src/firmware/link/byte-link.js';
import { encodeFrame, FrameDecoder } from '../../../src/firmware/mculink/frame-codec.js';
import { decodeMessage, encodeMessage, type Identity } from '../../../src/firmware/mculink/messages.js';
import { flashGeometryFor, MemoryImageKeeper, parsePowerControl, powerCycler, updateMcu, type Flasher, type FlasherSession } from '../../../src/firmware/update/index.js';
import { agentConfigFromFlags } from '../../../src/device-agent/agent-command.js';
import { autoClock } from './helpers/auto-clock.js';

const GEOMETRY = flashGeometryFor('stc89c52');

function identity(version: string): Identity {
  const [major = 0, minor = 0, patch = 0] = version.split('.').map(Number);
  return { protocolVersion: 1, firmware: { major, minor, patch }, firmwareVersion: version, serialNumber: 'c0ffee00c52c0052', model: 'stc89c52', application: 'tilt' };
}

/** The application end of the link: answers IDENTIFY with `version` (none: silent), records what it was asked. */
class FakeApplication {
  version: string | undefined;
  readonly identifyPayloads: number[] = [];
  readonly #decoder: FrameDecoder;

  constructor(private readonly link: ByteLink, version: string) {
    this.version = version;
    this.#decoder = new FrameDecoder({
      onFrame: (frame) => {
        if (frame.type !== 0x02) return;
        this.identifyPayloads.push(frame.payload.length);
        if (this.version === undefined) return;
        const answer = encodeMessage({ kind: 'identity', identity: identity(this.version) });
        void this.link.write(encodeFrame({ type: answer.type, seq: frame.seq, payload: answer.payload }));
      },
    });
    link.onData((bytes) => this.#decoder.push(bytes));
  }
}

/** A loader like the STC89's: each visit is one `enter`; writing "boots" the version the test names for that image. */
function fakeStcFlasher(app: FakeApplication, versionOf: (data: Uint8Array) => string | undefined): Flasher & { enters: number; written: Uint8Array[] } {
  const flasher = {
    kind: 'stc89-isp' as const,
    stuckHint: 'power-cycle it',
    enters: 0,
    written: [] as Uint8Array[],
    enter(): Promise<FlasherSession> {
      flasher.enters++;
      if (!GEOMETRY) throw new Error('no geometry');
      const session: FlasherSession = {
        kind: 'stc89-isp',
        geometry: GEOMETRY,
        chip: 'stc89c52 (fake)',
        readProtected: false,
        pageErase: false,
        verifiesWhileWriting: true,
        write(image, options) {
          const data = image.segments[0]?.data ?? new Uint8Array(0);
          flasher.written.push(data);
          options.onProgress?.({ phase: 'write', done: data.length, total: data.length });
          app.version = versionOf(data);
          return Promise.resolve({ bytesWritten: data.length, retries: 0 });
        },
        leave: () => Promise.resolve(''),
        dispose: () => undefined,
      };
      return Promise.resolve(session);
    },
  };
  return flasher;
}

const V2 = Uint8Array.of(2, 2, 2, 2);
const SILENT = Uint8Array.of(9, 9, 9, 9);

test('STC-like loader: the first flash cannot keep the running image (no read-back), never asks for a CRC, and keeps what it flashed', async (t) => {
  if (!GEOMETRY) return t.fail('no stc89c52 geometry');
  const auto = autoClock();
  const pair = createMemoryLinkPair();
  const app = new FakeApplication(pair.b, '1.0.0');
  const flasher = fakeStcFlasher(app, (d) => (d[0] === 2 ? '2.0.0' : undefined));
  const keeper = new MemoryImageKeeper();
  const notes: string[] = [];
  try {
    const outcome = await updateMcu(
      { link: pair.a, clock: auto.clock, geometry: GEOMETRY, keeper, mcuId: 'stc', runningVersion: '1.0.0', flasher, onNote: (m) => notes.push(m), bootTimeoutMs: 2000 },
      parseRawBinary(V2, 0),
      '2.0.0',
    );
    t.like(outcome, { kind: 'updated', previousVersion: '1.0.0' });
    t.true(notes.some((n) => /loader cannot read its flash: the running 1\.0\.0 cannot be kept/.test(n)), notes.join('\n'));
    t.deepEqual(app.identifyPayloads, [0], 'a plain IDENTIFY: the loader checked every block already');
    t.is(flasher.enters, 1);
    t.like(keeper.images.get('stc'), { version: '2.0.0', origin: 'flashed' });
  } finally {
    auto.stop();
  }
});

test('STC-like loader: an image that never identifies is rolled back through a second visit to the loader', async (t) => {
  if (!GEOMETRY) return t.fail('no stc89c52 geometry');
  const auto = autoClock();
  const pair = createMemoryLinkPair();
  const app = new FakeApplication(pair.b, '2.0.0');
  const flasher = fakeStcFlasher(app, (d) => (d[0] === 2 ? '2.0.0' : undefined));
  const keeper = new MemoryImageKeeper();
  await keeper.save('stc', { version: '2.0.0', origin: 'flashed', loadAddress: 0, data: V2 });
  const steps: string[] = [];
  try {
    const outcome = await updateMcu(
      { link: pair.a, clock: auto.clock, geometry: GEOMETRY, keeper, mcuId: 'stc', runningVersion: '2.0.0', flasher, bootTimeoutMs: 2000, onProgress: (step) => steps.push(step) },
      parseRawBinary(SILENT, 0),
      '9.9.9',
    );
    t.like(outcome, { kind: 'rolled-back', restoredVersion: '2.0.0', message: 'rolled back to 2.0.0: 9.9.9 never identified' });
    t.is(flasher.enters, 2, 'once to flash, once to restore');
    t.deepEqual(flasher.written.map((d) => d[0]), [9, 2]);
    t.true(steps.includes('rollback'));
  } finally {
    auto.stop();
  }
});

test('power control: names, and the DTR sequence (asserted = off, then released) on the link', async (t) => {
  t.deepEqual(parsePowerControl('dtr'), { kind: 'line', line: 'dtr', inverted: false });
  t.deepEqual(parsePowerControl('rts-inverted'), { kind: 'line', line: 'rts', inverted: true });
  t.deepEqual(parsePowerControl('ask'), { kind: 'technician' });
  t.is(parsePowerControl('gpio17'), undefined);
  const auto = autoClock();
  const set: ControlLines[] = [];
  const pair = createMemoryLinkPair();
  const link = Object.assign(pair.a, {
    setControlLines: (lines: ControlLines) => {
      set.push(lines);
      return Promise.resolve();
    },
  });
  try {
    await powerCycler({ kind: 'line', line: 'dtr', inverted: false }, { link, clock: auto.clock }).cycle();
    t.deepEqual(set, [{ dtr: true, rts: false }, { dtr: false, rts: false }]);
    set.length = 0;
    await powerCycler({ kind: 'line', line: 'rts', inverted: true }, { link, clock: auto.clock }).cycle();
    t.deepEqual(set, [{ dtr: false, rts: false }, { dtr: false, rts: true }], 'inverted: released = off');
  } finally {
    auto.stop();
  }
});

test('power control: a link without modem lines is a power-control error; ask prompts the technician with the timeout', async (t) => {
  const auto = autoClock();
  const pair = createMemoryLinkPair();
  try {
    const err = await t.throwsAsync(powerCycler({ kind: 'line', line: 'dtr', inverted: false }, { link: pair.a, clock: auto.clock }).cycle());
    t.like(err, { code: 'power-control' });
    t.regex(err?.message ?? '', /cannot drive DTR on this port .*power control "ask"/);
    const notes: string[] = [];
    const ask = powerCycler({ kind: 'technician' }, { link: pair.a, clock: auto.clock, port: '/dev/ttyS3', onNote: (m) => notes.push(m) });
    await ask.cycle();
    t.is(ask.timeoutMs, 60_000);
    t.deepEqual(notes, ['power-cycle the MCU on /dev/ttyS3 now: switch its supply off and on again (its ISP loader runs only after power-on); waiting 60 s']);
  } finally {
    auto.stop();
  }
});

test('ENTER_BOOTLOADER_ACK: empty (jumped) or 01 (power cycle needed), anything else refused', (t) => {
  t.deepEqual(decodeMessage(0x84, new Uint8Array(0)), { kind: 'enter-bootloader-ack' });
  t.deepEqual(decodeMessage(0x84, Uint8Array.of(0x01)), { kind: 'enter-bootloader-ack', powerCycleNeeded: true });
  t.throws(() => decodeMessage(0x84, Uint8Array.of(0x02)));
  t.deepEqual([...encodeMessage({ kind: 'enter-bootloader-ack', powerCycleNeeded: true }).payload], [0x01]);
});

test('agent --mcu-power <port>=<how>: parsed per port, a bad value names the flag and the choices', (t) => {
  const base = { keepalive: '30', factsInterval: '300', crashBackoff: '10', metricsInterval: '15', containerNetwork: 'host' };
  t.deepEqual(agentConfigFromFlags({ ...base, mcuPower: ['/dev/ttyS3=dtr', '/dev/ttyUSB0=ask'] }, {}).mcuPower, { '/dev/ttyS3': 'dtr', '/dev/ttyUSB0': 'ask' });
  t.throws(() => agentConfigFromFlags({ ...base, mcuPower: ['/dev/ttyS3=relay'] }, {}), { message: /^--mcu-power must be <port>=dtr\|rts\|dtr-inverted\|rts-inverted\|ask, not "\/dev\/ttyS3=relay"$/ });
  t.throws(() => agentConfigFromFlags({ ...base, mcuPower: ['dtr'] }, {}), { message: /--mcu-power must be/ });
});

test('a loader that checks nothing while writing: firmware without a CRC-32 is verified by the flasher reading back', async (t) => {
  if (!GEOMETRY) return t.fail('no stc89c52 geometry');
  const auto = autoClock();
  const pair = createMemoryLinkPair();
  const app = new FakeApplication(pair.b, '1.0.0');
  const base = fakeStcFlasher(app, (d) => (d[0] === 2 ? '2.0.0' : undefined));
  const readBacks: number[] = [];
  const flasher: Flasher = {
    ...base,
    enter: async () => ({ ...(await base.enter()), verifiesWhileWriting: false }),
    verifyByReadBack: (flat) => {
      readBacks.push(flat.data.length);
      return Promise.resolve({ ok: true, identity: identity('2.0.0') });
    },
  };
  const keeper = new MemoryImageKeeper();
  const notes: string[] = [];
  try {
    const outcome = await updateMcu(
      { link: pair.a, clock: auto.clock, geometry: GEOMETRY, keeper, mcuId: 'x', runningVersion: undefined, flasher, onNote: (m) => notes.push(m), bootTimeoutMs: 2000 },
      parseRawBinary(V2, 0),
      '2.0.0',
    );
    t.like(outcome, { kind: 'updated' });
    t.deepEqual(app.identifyPayloads.slice(0, 1), [5], 'the CRC-32 was asked for first');
    t.deepEqual(readBacks, [4]);
    t.true(notes.some((n) => /reports no CRC-32 of its flash: verifying by reading it back/.test(n)));
  } finally {
    auto.stop();
  }
});
