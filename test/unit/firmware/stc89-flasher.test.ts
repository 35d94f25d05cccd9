// The gateway's STC89 flasher against the bench's loader model (hardware/bench/stc89-isp.ts,
// written separately from the protocol description) over an in-memory link, without s51:
// the model answers only once the power has been cycled while pulses arrive, and the
// flasher erases, programs, writes back the option byte the chip reported, and resets.
import test from 'ava';
import { FlashMemory } from '../../../hardware/bench/flash-memory.js';
import { Stc89IspLoader } from '../../../hardware/bench/stc89-isp.js';
import type { Clock } from '../../../src/firmware/clock.js';
import { parseRawBinary } from '../../../src/firmware/image/raw-binary.js';
import { createMemoryLinkPair } from '../../../src/firmware/link/memory-link.js';
import { flashGeometryFor, type PowerCycler } from '../../../src/firmware/update/index.js';
import { stc89Flasher } from '../../../src/firmware/update/stc89-flasher.js';

/** Real time (the model answers rate switches after a real pause), with timers that keep the test process alive. */
const clock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

function rig(options: { powerCycles: boolean }) {
  const geometry = flashGeometryFor('stc89c52');
  if (!geometry) throw new Error('no stc89c52 geometry');
  const pair = createMemoryLinkPair();
  const flash = new FlashMemory({ base: 0, size: 8192, pageSize: 512 });
  flash.program(0, Uint8Array.of(0xde, 0xad, 0xbe, 0xef)); // the old application
  const commands: number[] = [];
  const options8d: number[] = [];
  let resets = 0;
  const loader = new Stc89IspLoader({
    flash,
    identity: { magic: 0xf002, version: 0x43, stepping: 'C', options: 0xfd, clockHz: 11_059_200, handshakeBaud: 2400 },
    send: (bytes) => void pair.b.write(bytes),
    flashChanged: () => undefined,
    reset: () => void resets++,
    commandReceived: (code) => void commands.push(code),
    optionsChanged: (msr) => void options8d.push(msr),
  });
  // The chip: an application that ignores 0x7F until the power comes back, then the loader's window.
  let window = false;
  pair.b.onData((bytes) => {
    if (loader.isRunning) loader.receive(bytes);
    else if (window && bytes.includes(0x7f)) {
      window = false;
      loader.start();
    }
  });
  const power: PowerCycler = {
    timeoutMs: 1500,
    cycle: () => {
      if (options.powerCycles) window = true;
      return Promise.resolve();
    },
  };
  const notes: string[] = [];
  const flasher = stc89Flasher({ link: pair.a, clock, geometry, power, onNote: (m) => notes.push(m) });
  return { flasher, flash, commands, options8d, notes, resets: () => resets };
}

test('enter, write and reset against the loader model: erased, programmed block by block, option byte kept', async (t) => {
  const r = rig({ powerCycles: true });
  const session = await r.flasher.enter();
  t.is(session.kind, 'stc89-isp');
  t.false(session.pageErase);
  t.true(session.verifiesWhileWriting);
  t.is(session.readFlash, undefined, 'the STC89 loader cannot read the flash back');
  t.regex(r.notes.join('\n'), /in the ISP loader: stc89c52 \(model 0xF002, ISP loader 4\.3C, 11\.059 MHz\)/);
  const image = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
  const progress: string[] = [];
  const result = await session.write(parseRawBinary(image, 0), { readBack: false, go: 0, onProgress: (p) => progress.push(`${p.phase} ${p.done}/${p.total}`) });
  t.is(result.bytesWritten, 300);
  t.deepEqual([...r.flash.read(0, 300)], [...image], 'the old bytes were erased before programming');
  t.true(r.flash.read(300, 212).every((b) => b === 0xff), 'the padding of the last block is the erased value');
  t.deepEqual(r.options8d, [0xfd], 'the option byte is written back as the chip reported it');
  t.deepEqual(progress, ['erase 0/1', 'erase 1/1', 'write 0/300', 'write 128/300', 'write 256/300', 'write 300/300', 'verify 300/300']);
  await new Promise((resolve) => setImmediate(resolve)); // the reset frame is on its way through the link
  t.deepEqual(r.commands, [0x8f, 0x8e, 0x80, 0x80, 0x80, 0x80, 0x84, 0x00, 0x00, 0x00, 0x8d, 0x82]);
  t.is(r.resets(), 1);
});

test('a chip whose power is never cycled: no-power-cycle after the timeout, nothing touched', async (t) => {
  const r = rig({ powerCycles: false });
  const err = await t.throwsAsync(r.flasher.enter());
  t.like(err, { code: 'no-power-cycle' });
  t.deepEqual(r.commands, []);
  t.deepEqual([...r.flash.read(0, 4)], [0xde, 0xad, 0xbe, 0xef]);
});
