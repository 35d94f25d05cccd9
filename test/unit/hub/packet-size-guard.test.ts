import test from 'ava';
import { PacketSizeMeter } from '../../../src/hub/broker/packet-size-guard.js';

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
