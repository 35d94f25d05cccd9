// aedes numbers each message when its PUBLISH starts (brokerId + brokerCounter) and drops, per
// client, a message whose counter is not above the last one it forwarded to that client from the
// same broker: its guard against one message reaching a client twice (overlapping subscriptions,
// or one broker's message arriving by two routes). That holds while messages leave a broker in
// the order they were numbered. With the persistence in Redis (issue 15) they do not: a retained
// message is emitted only after its write to Redis comes back, and a plain message numbered a
// moment later overtakes it. Every subscriber then drops the retained one as a duplicate: in a
// 3-hub registration storm of 1,000 devices a quarter of the devices' retained "online" statuses
// (each published just before the device's plain messages) reached no hub, and those devices
// stayed "unknown" for good. A device's retained desired document could be lost the same way.
// Numbered again as they are emitted, a broker's messages reach Redis in counter order, and Redis
// delivers one connection's messages in order.

/** A message as aedes hands it to its emitter. */
interface NumberedPacket {
  brokerId?: string | null;
  brokerCounter?: number;
}

interface Emitter {
  emit(packet: NumberedPacket, done?: (err?: Error) => void): unknown;
}

/**
 * Makes `broker`'s emitter number each of its own messages as it is emitted, from the broker's
 * own counter (so numbers stay above every one handed out before). Messages of another broker (a
 * gone broker's will, published here) keep their numbers.
 */
export function numberInEmitOrder(mq: Emitter, broker: { id: string; counter: number }): void {
  const emit = mq.emit.bind(mq);
  mq.emit = (packet, done) => {
    if (packet.brokerId !== broker.id) return emit(packet, done);
    broker.counter += 1;
    // A copy: the publish's own packet object is aedes' (its callbacks may still read it).
    return emit({ ...packet, brokerCounter: broker.counter }, done);
  };
}
