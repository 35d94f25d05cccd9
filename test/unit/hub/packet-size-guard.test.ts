import test from 'ava';
import { once } from 'node:events';
import { createServer, connect, type Socket } from 'node:net';
import { guardSocket, PacketSizeMeter } from '../../../src/hub/broker/packet-size-guard.js';

/** A loopback connection: the server's end guarded (as the broker's), the client's end raw. */
async function guardedPair(maxPacketBytes: number, violations: string[]): Promise<{ guarded: Socket; client: Socket; close(): void }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect(address.port, '127.0.0.1');
  const [raw] = await accepted;
  const guarded = guardSocket(raw, maxPacketBytes, (reason) => violations.push(reason));
  return { guarded, client, close: () => (client.destroy(), guarded.destroy(), server.close()) };
}

test('a guarded socket is the socket itself: packets within the bound are read as sent', async (t) => {
  const violations: string[] = [];
  const { guarded, client, close } = await guardedPair(1024, violations);
  t.teardown(close);
  const got = once(guarded, 'data') as Promise<[Buffer]>;
  client.write(Buffer.from([0xc0, 0x00]));
  const [chunk] = await got;
  t.deepEqual([...chunk], [0xc0, 0x00]);
  t.deepEqual(violations, []);
});

test('a guarded socket closes on a header announcing more than the bound, before the body, and passes none of it on', async (t) => {
  const violations: string[] = [];
  const { guarded, client, close } = await guardedPair(300, violations);
  t.teardown(close);
  let read = 0;
  guarded.on('data', (c: Buffer) => (read += c.length));
  const closed = once(guarded, 'close');
  client.write(Buffer.from([0x30, 0xad, 0x02]));
  await closed;
  t.deepEqual(violations, ['packet of 301 bytes exceeds the limit of 300']);
  t.is(read, 0);
});

test('what a guarded socket is given in one turn of the event loop leaves in one write (the packets answering one read)', async (t) => {
  const { guarded, client, close } = await guardedPair(1024, []);
  t.teardown(close);
  // Each flush of a socket's buffer is one call of its _write (one chunk) or _writev (several): one system call.
  const internals = guarded as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  let flushes = 0;
  for (const method of ['_write', '_writev'] as const) {
    const original = internals[method];
    internals[method] = (...args: unknown[]) => ((flushes += 1), original.apply(guarded, args));
  }
  // Written from separate ticks and a microtask of one turn, as aedes writes a SUBACK and the PUBACKs and retained messages after it.
  guarded.write(Buffer.from('suback,'));
  process.nextTick(() => guarded.write(Buffer.from('puback,')));
  void Promise.resolve().then(() => process.nextTick(() => guarded.write(Buffer.from('retained'))));
  let received = '';
  client.on('data', (c: Buffer) => (received += c.toString()));
  while (received.length < 'suback,puback,retained'.length) await new Promise((r) => setTimeout(r, 5));
  t.is(received, 'suback,puback,retained');
  t.is(flushes, 1);
});

test('small packets pass, split across chunks at any byte', (t) => {
  // CONNECT-like packet with remaining length 3, then PINGREQ (0xC0 0x00), then a PUBLISH of 200 bytes.
  const publish = Buffer.concat([Buffer.from([0x30, 0xc8, 0x01]), Buffer.alloc(200, 1)]);
  const stream = Buffer.concat([Buffer.from([0x10, 0x03, 1, 2, 3, 0xc0, 0x00]), publish]);
  for (let split = 0; split <= stream.length; split++) {
    const meter = new PacketSizeMeter(1024);
    t.is(meter.inspect(stream.subarray(0, split)), undefined);
    t.is(meter.inspect(stream.subarray(split)), undefined);
  }
});

test('a packet announcing more than the bound is reported from its header alone', (t) => {
  const meter = new PacketSizeMeter(1024);
  t.is(meter.inspect(Buffer.from([0x30, 0x81])), undefined, 'length not complete yet');
  t.is(meter.inspect(Buffer.from([0x08])), 'packet of 1025 bytes exceeds the limit of 1024');
});

test('a remaining length longer than four bytes is malformed (MQTT 3.1.1 §2.2.3)', (t) => {
  const meter = new PacketSizeMeter(1 << 30);
  t.is(meter.inspect(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff])), 'malformed remaining length');
});

test('the meter follows the boundary after a large allowed packet', (t) => {
  const meter = new PacketSizeMeter(300);
  const allowed = Buffer.concat([Buffer.from([0x30, 0xac, 0x02]), Buffer.alloc(300)]);
  t.is(meter.inspect(allowed), undefined);
  t.is(meter.inspect(Buffer.from([0x30, 0xad, 0x02])), 'packet of 301 bytes exceeds the limit of 300');
});
