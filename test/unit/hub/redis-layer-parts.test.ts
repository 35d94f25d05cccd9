// Parts of the Redis layer that keep a hub whole across a Redis outage (issue 15): what the
// emitter's subscriber subscribes to again when Redis returns, and commands aedes' persistence
// does not wait for, which must not become unhandled rejections (they end the process).
import test from 'ava';
import { resubscriptions, withHandledCommands } from '../../../src/hub/broker/redis-layer.js';

test("the emitter's topics split into channels and patterns (mqemitter-redis writes + and # as *)", (t) => {
  t.deepEqual(resubscriptions(['ep/v1/d/dev-1/desired', 'ep/v1/d/*/status', '$SYS/*/heartbeat', 'ep/v1/d/dev-1/rpc/req']), {
    channels: ['ep/v1/d/dev-1/desired', 'ep/v1/d/dev-1/rpc/req'],
    patterns: ['ep/v1/d/*/status', '$SYS/*/heartbeat'],
  });
  t.deepEqual(resubscriptions([]), { channels: [], patterns: [] });
});

test('a failed command nobody waits for is handled; one that is waited for still fails', async (t) => {
  const down = new Error('Reached the max retries per request limit (which is 2)');
  // Like ioredis: every command method sends through sendCommand and returns its promise.
  const conn = withHandledCommands({
    status: 'reconnecting',
    sendCommand: (..._args: unknown[]): Promise<never> => Promise.reject(down),
    lrem(...args: unknown[]) {
      return this.sendCommand(...args);
    },
    getBuffer(...args: unknown[]) {
      return this.sendCommand(...args);
    },
    on(this: { status: string }) {
      return this.status;
    },
  });
  void conn.lrem('will', 0, 'will:hub-a:dev-1'); // as aedes-persistence-redis does beside a delWill
  await t.throwsAsync(conn.getBuffer('will:hub-a:dev-1'), { is: down });
  t.is(conn.status, 'reconnecting', 'properties pass through');
  t.is(conn.on(), 'reconnecting', 'methods run on the connection itself');
  // An unhandled rejection would fail this test file (ava reports it) after this tick.
  await new Promise((resolve) => setImmediate(resolve));
});
