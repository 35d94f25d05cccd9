// GET /v1/devices?watch=true under a storm of device changes (issue 11, the restart storm): the
// watch writes a batch of changes at once, and a change that leaves a device's view as it was
// (a report, a lastSeen) sends nothing. Counted, not timed: the lines the client receives.
import test from 'ava';
import Fastify from 'fastify';
import type { DeviceStatus } from '../../../src/protocol/index.js';
import { registerDeviceRoutes } from '../../../src/hub/api/routes/devices.js';
import { DeviceFeed } from '../../../src/hub/fleet/device-feed.js';
import type { DeviceRecord } from '../../../src/hub/store/records.js';
import type { DeviceRepository, EventRepository } from '../../../src/hub/store/repository.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

const since = (s: number): string => new Date(Date.parse('2026-01-10T08:00:00Z') + s * 1000).toISOString();
const status = (s: number): DeviceStatus => ({ state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: `s${s}`, since: since(s) });

function deviceRecord(i: number): DeviceRecord {
  const id = `dev-${String(i).padStart(2, '0')}`;
  return { id, hardwareId: `hw-${id}`, hostname: id, labels: {}, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: since(0), joinedWithToken: 'tok', status: status(0), facts: gatewayFacts({ hostname: id }) };
}

test('a storm of changes reaches a watch once per changed view; unchanged views and repeats are not sent', async (t) => {
  const records = new Map(Array.from({ length: 20 }, (_, i) => deviceRecord(i)).map((d) => [d.id, d]));
  const devices = { list: async () => [...records.values()], get: async (id: string) => records.get(id), view: async (id: string) => records.get(id) } as unknown as DeviceRepository;
  const feed = new DeviceFeed();
  const app = Fastify();
  registerDeviceRoutes(app, { devices, events: {} as EventRepository, feed, now: () => new Date(since(0)), deviceDeleted: async () => undefined });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => app.close());
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const response = await fetch(`http://127.0.0.1:${port}/v1/devices?watch=true`);
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const lines: { type: string; object: { id: string; stateSince?: string } }[] = [];
  const readUntil = async (count: number): Promise<void> => {
    while (lines.length < count) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const part of parts) if (part.trim() !== '') lines.push(JSON.parse(part) as (typeof lines)[number]);
    }
  };
  await readUntil(20);
  t.is(lines.filter((l) => l.type === 'ADDED').length, 20);

  // Every device reconnects (a new status: its view changes), then reports twice and is seen
  // (its view stays as it was); one device is deleted.
  for (const [id, d] of records) {
    records.set(id, { ...d, status: status(5), lastSeen: since(5) });
    feed.changed(id, 'MODIFIED', 'status', false);
    feed.changed(id, 'MODIFIED', 'reported', false);
    feed.changed(id, 'MODIFIED', 'reported', false);
  }
  records.delete('dev-07');
  feed.changed('dev-07', 'DELETED', 'registration');
  // A marker after the storm: once it arrives, everything the storm caused has been written.
  records.set('dev-99', deviceRecord(99));
  await new Promise((resolve) => setTimeout(resolve, 200));
  feed.changed('dev-99', 'ADDED', 'registration');
  while (!lines.some((l) => l.object.id === 'dev-99')) await readUntil(lines.length + 1);
  const after = lines.slice(20);
  t.is(after.filter((l) => l.type === 'MODIFIED').length, 19, 'one line per device whose view changed (the deleted one excepted), none for the reports');
  t.true(after.filter((l) => l.type === 'MODIFIED').every((l) => l.object.stateSince === since(5)));
  t.deepEqual(
    after.filter((l) => l.type === 'DELETED').map((l) => l.object.id),
    ['dev-07'],
  );
  t.is(after.length, 21, 'and the marker');
  await reader.cancel();
});
