import test from 'ava';
import { EventEmitter } from 'node:events';
import { SerialPortMock } from 'serialport';
import { LinkClosedError } from '../../../src/firmware/link/byte-link.js';
import { createMemoryLinkPair } from '../../../src/firmware/link/memory-link.js';
import { SerialPortLink } from '../../../src/firmware/link/serial-port-link.js';
import { bytes, settle } from './helpers/auto-clock.js';

test('memory link delivers in order, asynchronously, to the other side only', async (t) => {
  const { a, b } = createMemoryLinkPair();
  const atB: number[] = [];
  const atA: number[] = [];
  b.onData((d) => atB.push(...d));
  a.onData((d) => atA.push(...d));
  const w1 = a.write(bytes(1, 2));
  const w2 = a.write(bytes(3));
  t.deepEqual(atB, [], 'not delivered synchronously');
  await Promise.all([w1, w2]);
  await settle();
  t.deepEqual(atB, [1, 2, 3]);
  t.deepEqual(atA, []);
  t.deepEqual(a.written, [1, 2, 3]);
});

test('memory link: maxChunk splits deliveries; tamper drops and corrupts', async (t) => {
  const chunks: number[][] = [];
  const split = createMemoryLinkPair({ maxChunk: 1 });
  split.b.onData((d) => chunks.push([...d]));
  await split.a.write(bytes(1, 2, 3));
  await settle();
  t.deepEqual(chunks, [[1], [2], [3]]);

  const got: number[] = [];
  const lossy = createMemoryLinkPair({ tamper: (d, from) => (from === 'a' ? d.filter((x) => x !== 0x13).map((x) => (x === 0x42 ? 0x43 : x)) : d) });
  lossy.b.onData((d) => got.push(...d));
  await lossy.a.write(bytes(0x11, 0x13, 0x42));
  await settle();
  t.deepEqual(got, [0x11, 0x43]);
});

test('memory link: closing one end closes both; writes then reject', async (t) => {
  const { a, b } = createMemoryLinkPair();
  const closed: string[] = [];
  a.onClose(() => closed.push('a'));
  b.onClose(() => closed.push('b'));
  await b.close();
  t.deepEqual(closed.sort(), ['a', 'b']);
  t.false(a.isOpen);
  await t.throwsAsync(a.write(bytes(1)), { instanceOf: LinkClosedError });
});

test('serial port link over serialport\'s mock binding: write, receive, close', async (t) => {
  SerialPortMock.binding.createPort('/dev/ttyEP0', { echo: true });
  const port = new SerialPortMock({ path: '/dev/ttyEP0', baudRate: 115200 });
  await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
  const link = new SerialPortLink(port);
  t.true(link.isOpen);
  const received: number[] = [];
  link.onData((d) => received.push(...d));
  await link.write(bytes(0xa5, 0x00, 0x02, 0x01));
  for (let i = 0; i < 20 && received.length < 4; i++) await settle();
  t.deepEqual(received, [0xa5, 0x00, 0x02, 0x01], 'echoed back by the mock');
  port.port?.emitData(Buffer.from([0x79]));
  for (let i = 0; i < 20 && received.length < 5; i++) await settle();
  t.is(received.at(-1), 0x79);
  let closed = false;
  link.onClose(() => (closed = true));
  await link.close();
  t.true(closed);
  t.false(link.isOpen);
  await t.throwsAsync(link.write(bytes(1)), { instanceOf: LinkClosedError });
  SerialPortMock.binding.reset();
});

test('serial port link: a close asked while one is under way resolves only when the port has closed (the tty stays locked until then)', async (t) => {
  const events = new EventEmitter();
  let finishClose: (() => void) | undefined;
  const port = {
    isOpen: true,
    closing: false,
    write: () => true,
    close(callback?: (error?: Error | null) => void) {
      port.closing = true;
      port.isOpen = false;
      finishClose = () => {
        port.closing = false;
        events.emit('close');
        callback?.(null);
      };
    },
    on: (event: string, listener: (...args: unknown[]) => void) => events.on(event, listener),
    off: (event: string, listener: (...args: unknown[]) => void) => events.off(event, listener),
  };
  const link = new SerialPortLink(port as unknown as ConstructorParameters<typeof SerialPortLink>[0]);
  const first = link.close();
  let secondDone = false;
  const second = link.close().then(() => (secondDone = true));
  await settle();
  t.false(secondDone, 'still closing: the descriptor (and its lock) is held');
  finishClose?.();
  await Promise.all([first, second]);
  t.true(secondDone);
  t.false(link.isOpen);
});
