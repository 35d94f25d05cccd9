// numberInEmitOrder (src/hub/broker/emit-order.ts) on its own: a broker's messages leave numbered
// in the order they leave, above every number handed out before; another broker's keep theirs.
import test from 'ava';
import { numberInEmitOrder } from '../../../src/hub/broker/emit-order.js';

type Packet = { topic: string; brokerId?: string | null; brokerCounter?: number };

test('own messages are numbered as they are emitted, from the broker counter; copies, not the originals', (t) => {
  const emitted: Packet[] = [];
  const mq = { emit: (packet: Packet) => void emitted.push(packet) };
  const broker = { id: 'hub-a', counter: 10 };
  numberInEmitOrder(mq, broker);
  // Numbered 11 and 12 when their publishes started; the plain one (12) leaves first.
  const retained: Packet = { topic: 'ep/v1/d/a/status', brokerId: 'hub-a', brokerCounter: 11 };
  const plain: Packet = { topic: 'ep/v1/d/b/metrics', brokerId: 'hub-a', brokerCounter: 12 };
  broker.counter = 12;
  mq.emit(plain);
  mq.emit(retained);
  t.deepEqual(
    emitted.map((p) => [p.topic, p.brokerCounter]),
    [
      ['ep/v1/d/b/metrics', 13],
      ['ep/v1/d/a/status', 14],
    ],
  );
  t.is(retained.brokerCounter, 11, 'the publish keeps its own packet as it was');
  t.is(broker.counter, 14, 'later publishes are numbered above');
});

test("another broker's message (a gone broker's will) and one without a broker keep their numbers", (t) => {
  const emitted: Packet[] = [];
  const mq = { emit: (packet: Packet) => void emitted.push(packet) };
  numberInEmitOrder(mq, { id: 'hub-a', counter: 0 });
  mq.emit({ topic: 'ep/v1/d/c/status', brokerId: 'hub-b', brokerCounter: 500 });
  mq.emit({ topic: '$SYS/x', brokerId: null });
  t.deepEqual(
    emitted.map((p) => p.brokerCounter),
    [500, undefined],
  );
});
