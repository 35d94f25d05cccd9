import test from 'ava';
import fc from 'fast-check';
import { mayPublish, maySubscribe } from '../../../src/hub/broker/access-policy.js';
import { deviceAcls, joinAcls, type DynsecAcl } from '../../../src/hub/broker/dynsec.js';

/** MQTT filter matching as Mosquitto applies an ACL topic to a concrete topic (`+` one level, `#` the rest). */
function matches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}

const sendAllowed = (acls: DynsecAcl[], topic: string): boolean => acls.some((a) => a.acltype === 'publishClientSend' && a.allow && matches(a.topic, topic));
const literalSubscribeAllowed = (acls: DynsecAcl[], filter: string): boolean => acls.some((a) => a.acltype === 'subscribeLiteral' && a.allow && a.topic === filter);

const level = fc.constantFrom('status', 'facts', 'desired', 'reported', 'events', 'metrics', 'runs', 'ack', 'rpc', 'req', 'res', 'mcu', 'telemetry', 'mcu-1', 'corr-0001', 'x', '');
const deviceId = fc.constantFrom('board-a', 'board-b');
const topic = fc.tuple(deviceId, fc.array(level, { minLength: 1, maxLength: 4 })).map(([id, rest]) => `ep/v1/d/${id}/${rest.join('/')}`);

/**
 * Mosquitto's `+` cannot check a level's shape (a correlation id of 8 to 64 characters, an MCU
 * id that is not empty), so
 * there it may allow what the embedded broker refuses by shape alone; the hub drops such
 * topics on arrival either way (parseTopic). Everything else is decided alike.
 */
const shapeOnly = (candidate: string): boolean => /^ep\/v1\/d\/board-a\/(rpc\/res\/[^/]*|mcu\/[^/]*\/telemetry)$/.test(candidate);

test('Mosquitto ACLs and the embedded broker decide every device publish alike (one table in src/protocol)', (t) => {
  fc.assert(
    fc.property(topic, (candidate) => {
      const role = { kind: 'device', deviceId: 'board-a' } as const;
      const embedded = mayPublish(role, candidate);
      const mosquitto = sendAllowed(deviceAcls('board-a'), candidate);
      return embedded ? mosquitto : !mosquitto || shapeOnly(candidate);
    }),
    { numRuns: 2000 },
  );
  t.false(sendAllowed(deviceAcls('board-a'), 'ep/v1/d/board-b/status'), "another device's topic");
  t.false(sendAllowed(deviceAcls('board-a'), 'ep/v1/d/board-a/desired'), 'the hub\'s channel');
});

test('Mosquitto ACLs and the embedded broker grant the same exact subscriptions', (t) => {
  fc.assert(
    fc.property(topic, (candidate) => literalSubscribeAllowed(deviceAcls('board-a'), candidate) === maySubscribe({ kind: 'device', deviceId: 'board-a' }, candidate)),
    { numRuns: 2000 },
  );
  t.false(deviceAcls('board-a').some((a) => a.topic.includes('#') || !a.topic.startsWith('ep/v1/d/board-a/')), 'nothing outside its own prefix');
  t.false(deviceAcls('board-a').some((a) => a.acltype === 'subscribePattern'), 'no wildcard subscriptions');
});

test('join sessions: the wildcard over responses is denied before the pattern allows exact topics', (t) => {
  const acls = joinAcls();
  const deny = acls.find((a) => a.acltype === 'subscribeLiteral' && !a.allow);
  const allow = acls.find((a) => a.acltype === 'subscribePattern' && a.allow);
  t.is(deny?.topic, 'ep/v1/join/+/res');
  t.true((deny?.priority ?? 0) > (allow?.priority ?? 0));
  t.false(acls.some((a) => a.topic.endsWith('/req') && a.acltype !== 'publishClientSend'), 'no join session may read requests (their nonces stay secret)');
});
