// What a hub says of itself in `get hubs` (src/hub/wiring/hubs.ts): degraded for either shared
// engine, with the reason, the store's first; the write guard's health stays the MQTT layer's only.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { DeviceFeed } from '../../../src/hub/fleet/device-feed.js';
import { SoleLeadership } from '../../../src/hub/leadership/leadership.js';
import { startHubPresence } from '../../../src/hub/wiring/hubs.js';

const log = createLogger('test', 'error');

test('a hub whose store does not answer lists itself degraded, naming the store; healthy again when it answers', async (t) => {
  let stored: { ok: boolean; reason?: string } = { ok: true };
  const presence = await startHubPresence({
    hubId: 'hub-a',
    shared: undefined,
    leadership: new SoleLeadership(),
    feed: new DeviceFeed(),
    connections: () => 0,
    writtenElsewhere: () => undefined,
    disconnectDevice: () => Promise.resolve(false),
    storeHealth: () => stored,
    log,
  });
  t.teardown(() => presence.stop());
  t.like((await presence.list())[0], { id: 'hub-a', state: 'ok' });
  stored = { ok: false, reason: 'the store (PostgreSQL at 127.0.0.1:55432) is unavailable: connect ECONNREFUSED' };
  const [self] = await presence.list();
  t.is(self?.state, 'degraded', 'as /healthz says');
  t.regex(self?.reason ?? '', /PostgreSQL at 127\.0\.0\.1:55432\) is unavailable/);
  t.true(presence.health().ok, 'the messaging guard is not the store: StoreUnavailable says that itself');
  stored = { ok: true };
  t.like((await presence.list())[0], { state: 'ok' });
  t.false('reason' in ((await presence.list())[0] ?? {}));
});
