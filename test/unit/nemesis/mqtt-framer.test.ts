import test from 'ava';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { FaultProxy, MqttFramer, isPublish, packetLength, redelivery } from '../../support/nemesis/mqtt-fault-proxy.js';

/** A PUBLISH (QoS 1, packet id 7) whose body is `size` bytes long. */
function publish(size: number): Buffer {
  const body = Buffer.alloc(size, 0x61);
  const remaining: number[] = [];
  let n = size;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    remaining.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([0x32, ...remaining]), body]);
}

test('packets split anywhere across chunks come out whole, with 1- to 3-byte remaining lengths', (t) => {
  const packets = [publish(5), Buffer.from([0xc0, 0x00]), publish(300), publish(20_000)];
  const stream = Buffer.concat(packets);
  for (const step of [1, 2, 7, 1000, stream.length]) {
    const framer = new MqttFramer();
    const out: Buffer[] = [];
    for (let i = 0; i < stream.length; i += step) out.push(...framer.push(stream.subarray(i, i + step)));
    t.deepEqual(out.map((p) => p.toString('hex')), packets.map((p) => p.toString('hex')), `chunks of ${step}`);
  }
  t.is(packetLength(Buffer.from([0x30])), undefined);
  t.is(packetLength(publish(300)), 303);
});

test('a redelivered QoS 1 PUBLISH carries the DUP flag; PINGREQ is not a PUBLISH', (t) => {
  const copy = redelivery(publish(3));
  t.is(copy[0], 0x3a);
  t.true(isPublish(copy));
  t.false(isPublish(Buffer.from([0xc0, 0x00])));
});

test('the proxy duplicates every PUBLISH when told to, and passes everything through otherwise', async (t) => {
  const received: Buffer[] = [];
  const server = createServer((s) => s.on('data', (c: Buffer) => received.push(c)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const proxy = new FaultProxy({ listenHost: '127.0.0.1', listenPort: 0, targetHost: '127.0.0.1', targetPort: (server.address() as AddressInfo).port, mqtt: true, random: () => 0 });
  await proxy.start();
  const client = createConnection(proxy.port, '127.0.0.1');
  await once(client, 'connect');
  const settle = async (bytes: number): Promise<void> => {
    for (let i = 0; i < 200 && Buffer.concat(received).length < bytes; i++) await new Promise((r) => setTimeout(r, 10));
  };
  client.write(publish(4));
  await settle(6);
  proxy.chaos({ duplicate: 1, reorder: 0 });
  client.write(publish(4));
  await settle(18);
  const all = Buffer.concat(received);
  t.is(all.length, 18);
  t.is(all[6], 0x32);
  t.is(all[12], 0x3a, 'the copy is marked DUP');
  t.is(proxy.counters.duplicated, 1);
  client.destroy();
  await proxy.stop();
  server.close();
});
