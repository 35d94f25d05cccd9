// The proxy's choice of endpoint (src/device-agent/services/balancer.ts): nearest tier first,
// round-robin within it, failed endpoints dropped until their retry time, then tried again.
import test from 'ava';
import { Balancer, DROP_BASE_MS, targetsFor, type Target } from '../../../src/device-agent/services/balancer.js';

const t1: Target = { key: 'a/web-0', host: '10.0.0.1', port: 8080, locality: 'device' };
const t2: Target = { key: 'a/web-1', host: '10.0.0.1', port: 8081, locality: 'device' };
const t3: Target = { key: 'b/web-2', host: '10.0.0.2', port: 8080, locality: 'site' };
const t4: Target = { key: 'c/web-3', host: '10.0.0.3', port: 8080, locality: 'other' };

test('round-robin over the same device first, then the same site, then the rest', (t) => {
  const b = new Balancer();
  b.setTargets([t4, t3, t1, t2]);
  const firsts = [0, 1, 2, 3].map(() => b.order(0)[0]?.key);
  t.deepEqual(firsts, ['a/web-0', 'a/web-1', 'a/web-0', 'a/web-1']);
  t.deepEqual(b.order(0).slice(2).map((x) => x.key), ['b/web-2', 'c/web-3']);
});

test('a failed endpoint is dropped (one event), the next tier serves, and it is tried again after its retry time', (t) => {
  const b = new Balancer();
  b.setTargets([t1, t3]);
  t.true(b.failed('a/web-0', 1000));
  t.false(b.failed('a/web-0', 1001), 'already dropped: no second event');
  t.is(b.order(1500)[0]?.key, 'b/web-2');
  t.is(b.order(1500).at(-1)?.key, 'a/web-0', 'dropped endpoints are still tried last');
  t.is(b.order(1001 + DROP_BASE_MS * 2)[0]?.key, 'a/web-0', 'retried after the (doubled) drop time');
  t.true(b.succeeded('a/web-0'));
  t.false(b.isDropped('a/web-0', 1600));
});

test('the drop survives a re-sent endpoint list, and is forgotten when the endpoint leaves it', (t) => {
  const b = new Balancer();
  b.setTargets([t1, t3]);
  b.failed('b/web-2', 0);
  b.setTargets([t3, t1]);
  t.true(b.isDropped('b/web-2', 1));
  b.setTargets([t1]);
  b.setTargets([t1, t3]);
  t.false(b.isDropped('b/web-2', 1));
});

test('targets of a service port come from the endpoints that publish it', (t) => {
  const targets = targetsFor(
    [
      { deviceId: 'a', instance: 'web', host: '10.0.0.1', ports: [{ targetPort: 80, port: 8080 }], locality: 'device' },
      { deviceId: 'b', instance: 'web', host: '10.0.0.2', ports: [{ targetPort: 81, port: 8081 }], locality: 'other' },
    ],
    80,
  );
  t.deepEqual(targets, [{ key: 'a/web', host: '10.0.0.1', port: 8080, locality: 'device' }]);
});
