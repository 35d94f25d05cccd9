import test from 'ava';
import { once } from 'node:events';
import { inProcessStreamPair } from '../../../src/hub/broker/in-process-stream.js';

test('bytes written to one end are read from the other, both ways, in order', async (t) => {
  const [a, b] = inProcessStreamPair();
  const fromA: Buffer[] = [];
  const fromB: Buffer[] = [];
  b.on('data', (c: Buffer) => fromA.push(c));
  a.on('data', (c: Buffer) => fromB.push(c));
  a.write('one ');
  a.write('two');
  b.write('back');
  await new Promise((r) => setImmediate(r));
  t.is(Buffer.concat(fromA).toString(), 'one two');
  t.is(Buffer.concat(fromB).toString(), 'back');
  a.destroy();
  b.destroy();
});

test('what is written while corked reaches the other end as one chunk (a packet written in pieces is parsed once)', async (t) => {
  const [a, b] = inProcessStreamPair();
  const chunks: string[] = [];
  b.on('data', (c: Buffer) => chunks.push(c.toString()));
  a.cork();
  for (const piece of ['0', 'len', 'topic', 'id', 'payload']) a.write(piece);
  process.nextTick(() => a.uncork());
  await new Promise((r) => setImmediate(r));
  t.deepEqual(chunks, ['0lentopicidpayload']);
  a.destroy();
  b.destroy();
});

test('a reader that does not read holds the writer back (backpressure), and reading releases it', async (t) => {
  const [a, b] = inProcessStreamPair();
  const chunk = Buffer.alloc(8 * 1024);
  let accepted = 0;
  // The default high-water mark is 16 KiB: after a few chunks the writer must be told to wait.
  while (a.write(chunk)) accepted += 1;
  t.true(accepted < 8, `write() kept returning true for ${accepted} chunks with nobody reading`);
  const drained = once(a, 'drain');
  let read = 0;
  b.on('data', (c: Buffer) => (read += c.length));
  await drained;
  t.true(read >= accepted * chunk.length);
  a.destroy();
});

test('closing one end closes the other (the broker dropping the hub is seen by its client)', async (t) => {
  const [a, b] = inProcessStreamPair();
  const closed = once(b, 'close');
  a.destroy();
  await closed;
  t.true(b.destroyed);
  const [c, d] = inProcessStreamPair();
  const ended = once(d, 'end');
  d.resume();
  c.end();
  await ended;
  t.pass('end() is seen as the end of the other side');
});
