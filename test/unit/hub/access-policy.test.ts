import test from 'ava';
import { mayPublish, maySubscribe, type BrokerRole } from '../../../src/hub/broker/access-policy.js';
import { topics } from '../../../src/protocol/index.js';

const device: BrokerRole = { kind: 'device', deviceId: 'gw-1' };
const nonce = 'b'.repeat(32);
const join: BrokerRole = { kind: 'join', nonce };

test('a device publishes only its own non-hub channels', (t) => {
  for (const topic of [topics.status('gw-1'), topics.facts('gw-1'), topics.reported('gw-1'), topics.events('gw-1'), topics.metrics('gw-1'), topics.rpcResponse('gw-1', 'corr12345'), topics.mcuTelemetry('gw-1', 'stm32-1')]) {
    t.true(mayPublish(device, topic), topic);
  }
  for (const topic of [topics.desired('gw-1'), topics.services('gw-1'), topics.rpcRequest('gw-1'), topics.status('gw-2'), topics.joinRequest(nonce), 'ep/v1/d/gw-1', 'ep/v1/d/gw-1/status/x', 'ep/v1/d/gw-10/status', '$SYS/x']) {
    t.false(mayPublish(device, topic), topic);
  }
});

test('a device subscribes only to its own desired state and rpc requests, with no wildcards', (t) => {
  t.true(maySubscribe(device, topics.desired('gw-1')));
  t.true(maySubscribe(device, topics.rpcRequest('gw-1')));
  // Services (issue 14): its own endpoints document only; another device's says what that one uses.
  t.true(maySubscribe(device, topics.services('gw-1')));
  for (const filter of ['ep/v1/d/+/services', topics.services('gw-2'), 'ep/v1/d/+/desired', 'ep/v1/d/gw-1/#', '#', topics.desired('gw-2'), topics.status('gw-1')]) t.false(maySubscribe(device, filter), filter);
});

test('a join session uses only its own nonce topics; the hub may do anything', (t) => {
  t.true(mayPublish(join, topics.joinRequest(nonce)));
  t.false(mayPublish(join, topics.joinRequest('c'.repeat(32))));
  t.false(mayPublish(join, topics.status('gw-1')));
  t.true(maySubscribe(join, topics.joinResponse(nonce)));
  t.false(maySubscribe(join, 'ep/v1/join/+/res'));
  t.true(mayPublish({ kind: 'hub' }, topics.desired('gw-1')));
  t.true(maySubscribe({ kind: 'hub' }, 'ep/v1/d/+/status'));
});
