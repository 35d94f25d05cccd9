import test from 'ava';
import { createMemoryLinkPair, type MemoryLinkPair } from '../../../src/firmware/link/memory-link.js';
import { SwitchableLink } from '../../../src/firmware/link/switchable-link.js';
import type { Parity } from '../../../src/firmware/link/byte-link.js';
import { autoClock } from './helpers/auto-clock.js';

/** Each open makes a fresh memory pair; the test plays the MCU on the far end. */
function transport(): { opens: { parity: Parity; pair: MemoryLinkPair }[]; open: (p: Parity) => Promise<MemoryLinkPair['a']> } {
  const opens: { parity: Parity; pair: MemoryLinkPair }[] = [];
  return {
    opens,
    open: async (parity) => {
      const pair = createMemoryLinkPair();
      opens.push({ parity, pair });
      return pair.a;
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('switching parity reopens the transport; subscribers keep receiving, writes go to the new port', async (t) => {
  const tr = transport();
  const link = await SwitchableLink.open(tr.open);
  const received: number[] = [];
  link.onData((bytes) => received.push(...bytes));
  let closed = false;
  link.onClose(() => (closed = true));
  await link.setParity('even');
  t.deepEqual(tr.opens.map((o) => o.parity), ['none', 'even']);
  t.false(tr.opens[0]?.pair.a.isOpen, 'the 8N1 port was closed first');
  t.false(closed, 'a requested switch is not a close');
  const far = tr.opens[1]?.pair.b;
  const seenByMcu: number[] = [];
  far?.onData((bytes) => seenByMcu.push(...bytes));
  await link.write(Uint8Array.of(0x7f));
  await far?.write(Uint8Array.of(0x79));
  await tick();
  t.deepEqual(seenByMcu, [0x7f]);
  t.deepEqual(received, [0x79]);
  await link.setParity('even');
  t.is(tr.opens.length, 2, 'no reopen for the parity already set');
});

test('an unrequested close of the transport (unplug) closes the link', async (t) => {
  const tr = transport();
  const link = await SwitchableLink.open(tr.open);
  let closedWith: Error | undefined;
  let closes = 0;
  link.onClose((err) => ((closedWith = err), closes++));
  tr.opens[0]?.pair.disconnect(new Error('unplugged'));
  await tick();
  t.is(closes, 1);
  t.is(closedWith?.message, 'unplugged');
  t.false(link.isOpen);
  await t.throwsAsync(link.write(Uint8Array.of(1)));
});

test('a failed reopen closes the link with the reason', async (t) => {
  let calls = 0;
  const link = await SwitchableLink.open(async () => {
    if (calls++ > 0) throw new Error('EBUSY');
    return createMemoryLinkPair().a;
  });
  let closedWith: Error | undefined;
  link.onClose((err) => (closedWith = err));
  await t.throwsAsync(link.setParity('even'), { message: 'EBUSY' });
  t.is(closedWith?.message, 'EBUSY');
  t.false(link.isOpen);
});

/**
 * A tty with flock's rule: opening it while another handle is still open fails, as serialport's
 * "Cannot lock port" does; a close lets go of the lock only once it completes (a macrotask later).
 */
function lockingTty(failFirstReopens = 0): { opens: Parity[]; open: (p: Parity) => Promise<MemoryLinkPair['a']> } {
  const opens: Parity[] = [];
  let held = false;
  let failuresLeft = failFirstReopens;
  return {
    opens,
    open: async (parity) => {
      if (held) throw new Error('Error Resource temporarily unavailable Cannot lock port');
      if (opens.length > 0 && failuresLeft > 0) {
        failuresLeft--;
        throw new Error('Error Resource temporarily unavailable Cannot lock port');
      }
      opens.push(parity);
      held = true;
      const pair = createMemoryLinkPair();
      const close = pair.a.close.bind(pair.a);
      pair.a.close = async () => {
        await new Promise((r) => setImmediate(r));
        held = false;
        await close();
      };
      return pair.a;
    },
  };
}

test('two switches asked at once run one after the other: one reopen, no second handle on the locked tty', async (t) => {
  const tty = lockingTty();
  const link = await SwitchableLink.open(tty.open, 'even');
  let closed = false;
  link.onClose(() => (closed = true));
  // The updater's boot check and the port's hand-back both want 8N1 after a flash.
  await Promise.all([link.setParity('none'), link.setParity('none')]);
  t.deepEqual(tty.opens, ['even', 'none']);
  t.false(closed);
  t.true(link.isOpen);
  await Promise.all([link.setParity('even'), link.setParity('none'), link.setParity('even')]);
  t.deepEqual(tty.opens, ['even', 'none', 'even', 'none', 'even'], 'each switch in the order asked');
  t.is(link.parity, 'even');
});

test('a reopen that meets a lock still held is tried again on the clock, then the link goes on', async (t) => {
  const tty = lockingTty(2);
  const { clock, stop } = autoClock();
  t.teardown(stop);
  const link = await SwitchableLink.open(tty.open, 'none', { clock, attempts: 5, delayMs: 100 });
  await link.setParity('even');
  t.deepEqual(tty.opens, ['none', 'even']);
  t.true(link.isOpen);
});

test('a reopen still refused after every attempt closes the link with the reason', async (t) => {
  const tty = lockingTty(9);
  const { clock, stop } = autoClock();
  t.teardown(stop);
  const link = await SwitchableLink.open(tty.open, 'none', { clock, attempts: 3, delayMs: 100 });
  let closedWith: Error | undefined;
  link.onClose((err) => (closedWith = err));
  await t.throwsAsync(link.setParity('even'), { message: /Cannot lock port/ });
  t.regex(closedWith?.message ?? '', /Cannot lock port/);
  t.false(link.isOpen);
});
