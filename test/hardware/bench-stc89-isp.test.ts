// The bench's STC89 ISP loader model (hardware/bench/stc89-isp.ts): it answers sync pulses
// only in its window right after power-on. The cross-check with stcgal (the tool people
// flash STC chips with) is test/reference/stcgal.test.ts: stcgal is on PyPI only, which CI
// cannot reach, so it runs by hand (`npm run check:stcgal`).
import test from 'ava';
import { once } from 'node:events';
import { HostPort, parseIdentity } from './bench-host.js';
import { useStcIspBench } from './support/stc-isp-bench.js';

const { ready } = useStcIspBench(test, 'stc-isp');

/** Pulses as stcgal sends them (one 0x7F every 30 ms) until `stop` resolves; returns every byte that came back. */
async function pulseUntil(port: HostPort, stop: Promise<unknown>): Promise<number[]> {
  let done = false;
  void stop.finally(() => (done = true));
  const heard: number[] = [];
  while (!done) {
    port.write([0x7f]);
    const byte = await port.maybeReadByte(30);
    if (byte !== undefined) heard.push(byte);
  }
  for (let byte = await port.maybeReadByte(200); byte !== undefined; byte = await port.maybeReadByte(200)) heard.push(byte);
  return heard;
}

test.serial('the loader answers sync pulses only right after power-on', async (t) => {
  const bench = ready();
  const port = await HostPort.open(bench.hostPath);
  try {
    // The application runs: pulses reach it, no status frame comes back, and it still answers.
    port.drain();
    const early = await pulseUntil(port, new Promise((resolve) => setTimeout(resolve, 600)));
    t.false(early.includes(0x68), `no status frame from a running application: ${early.join(',')}`);
    const identity = await port.request(0x02, 1);
    t.is(identity && parseIdentity(identity.payload).version, '1.0.0');

    // Power cycle without pulses: the window passes and the application boots.
    const booted = once(bench, 'booted');
    await bench.powerCycle();
    await booted;
    t.is(bench.mode, 'app');
    const late = await pulseUntil(port, new Promise((resolve) => setTimeout(resolve, 600)));
    t.false(late.includes(0x68), 'the window closed when the application started');

    // Power cycle while pulsing: the loader takes the line and sends its status frame.
    port.drain();
    const synced = once(bench, 'isp-sync');
    const heard = pulseUntil(port, synced);
    await bench.powerCycle();
    const status = await heard;
    t.is(bench.mode, 'bootloader');
    const start = status.indexOf(0x68);
    t.true(start >= 0, `status frame expected, got ${status.join(',')}`);
    t.deepEqual(status.slice(start, start + 3), [0x68, 0x00, 0x3b], 'no 46 B9 start, length 59');
    t.deepEqual(status.slice(start + 20, start + 25), [0x43, 0x43, 0xfd, 0xf0, 0x02], 'version 4.3C, option byte 0xFD, magic F002 (STC89C52RC)');

    // Reset (0x82) leaves it: the application boots again.
    const again = once(bench, 'booted');
    port.write([0x46, 0xb9, 0x6a, 0x00, 0x06, 0x82, 0xf2, 0x16]);
    await again;
    const after = await port.request(0x02, 2);
    t.is(after && parseIdentity(after.payload).version, '1.0.0');
  } finally {
    await port.close();
  }
});
