import test from 'ava';
import { parseTopic, topics, joinClientId, nonceFromJoinClientId } from '../../../src/protocol/index.js';

const nonce = 'a'.repeat(32);

test('topic builders and parser agree', (t) => {
  t.deepEqual(parseTopic(topics.joinRequest(nonce)), { kind: 'join-request', nonce });
  t.deepEqual(parseTopic(topics.status('dev-1')), { kind: 'device', deviceId: 'dev-1', channel: 'status' });
  t.deepEqual(parseTopic(topics.rpcRequest('dev-1')), { kind: 'rpc-request', deviceId: 'dev-1' });
  t.deepEqual(parseTopic(topics.rpcResponse('dev-1', 'abcdefgh12')), { kind: 'rpc-response', deviceId: 'dev-1', correlationId: 'abcdefgh12' });
  t.deepEqual(parseTopic(topics.mcuTelemetry('gw-1', 'stm32-0001')), { kind: 'mcu-telemetry', deviceId: 'gw-1', mcuId: 'stm32-0001' });
});

test('topics outside the v1 tree or with bad ids are not parsed', (t) => {
  for (const topic of ['ep/v2/d/dev-1/status', 'ep/v1/d/DEV/status', 'ep/v1/d/dev-1/unknown', 'ep/v1/join/xyz/req', 'ep/v1/d/dev-1/status/extra', 'other/topic', 'ep/v1/d/+/status']) {
    t.is(parseTopic(topic), undefined, topic);
  }
});

test('join client ids bind a session to its nonce', (t) => {
  t.is(nonceFromJoinClientId(joinClientId(nonce)), nonce);
  t.is(nonceFromJoinClientId('join-short'), undefined);
  t.is(nonceFromJoinClientId(`dev-${nonce}`), undefined);
});
