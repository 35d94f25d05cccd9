// The desired pass tells what changed since the last pass by the identity of what the lowdb store
// hands out (issue 11): the device list is the same object while no device was written, and a
// placement handed out is never edited afterwards (a device's deletion replaces the placements
// that held replicas on it). store.json's placements, written by parts, read back the same.
import test from 'ava';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import type { DeviceRecord } from '../../../src/hub/store/records.js';
import { makeTempDir } from '../../support/paths.js';

function device(id: string): DeviceRecord {
  return { id, hardwareId: `hw-${id}`, hostname: id, labels: {}, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: new Date(0).toISOString(), joinedWithToken: 't' };
}

test('the device snapshot is the same list until a device is written, touched, observed or deleted', async (t) => {
  const dir = await makeTempDir('ep-store-identity-');
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  t.teardown(() => store.close());
  await store.devices.put(device('gw-1'), 'sync');
  await store.devices.put(device('gw-2'), 'sync');
  const first = await store.devices.snapshot();
  t.is(await store.devices.snapshot(), first, 'nothing written: the same list');
  await store.devices.put(device('gw-3'), 'sync');
  // Each step, and the devices it writes: every other device's record is kept (the same object).
  const steps: [string, string[], () => Promise<unknown>][] = [
    ['touch', ['gw-1'], () => store.devices.touch('gw-1', new Date(1).toISOString())],
    ['touch twice', ['gw-3'], () => Promise.all([store.devices.touch('gw-3', new Date(2).toISOString()), store.devices.touch('gw-3', new Date(3).toISOString())])],
    ['observe', ['gw-2'], () => store.devices.observe('gw-2', (d) => void (d.status = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: new Date(2).toISOString() }))],
    ['update', ['gw-1'], () => store.devices.update('gw-1', (d) => void (d.labels = { zone: 'a' }), 'sync')],
    ['put of a new device', ['gw-4'], () => store.devices.put(device('gw-4'), 'sync')],
    ['delete', [], () => store.devices.delete('gw-2')],
    ['touch after the delete', ['gw-4'], () => store.devices.touch('gw-4', new Date(4).toISOString())],
  ];
  let last = await store.devices.snapshot();
  for (const [name, ids, step] of steps) {
    await step();
    const next = await store.devices.snapshot();
    t.not(next, last, `${name}: a new list`);
    t.is(await store.devices.snapshot(), next, `${name}: then the same again`);
    t.deepEqual(next, await store.devices.list(), `${name}: what the store holds`);
    for (const d of next) {
      const before = last.find((x) => x.id === d.id);
      if (before !== undefined && !ids.includes(d.id)) t.is(d, before, `${name}: ${d.id} kept`);
    }
    last = next;
  }
  t.deepEqual(last.map((d) => [d.id, d.labels, d.lastSeen]), [
    ['gw-1', { zone: 'a' }, new Date(1).toISOString()],
    ['gw-3', {}, new Date(3).toISOString()],
    ['gw-4', {}, new Date(4).toISOString()],
  ]);
});

test('a placement handed out is not edited when a device holding its replicas is deleted; store.json reads back the same', async (t) => {
  const dir = await makeTempDir('ep-store-identity-');
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path);
  await store.devices.put(device('gw-1'), 'sync');
  await store.devices.put(device('gw-2'), 'sync');
  await store.placements.put({ workload: 'web', replicas: { '0': 'gw-1', '1': 'gw-2' } });
  await store.placements.put({ workload: 'db', replicas: { '0': 'gw-2' } });
  const before = (await store.placements.snapshot?.()) ?? [];
  const web = before.find((p) => p.workload === 'web');
  const db = before.find((p) => p.workload === 'db');
  await store.devices.delete('gw-1');
  t.deepEqual(web?.replicas, { '0': 'gw-1', '1': 'gw-2' }, 'the record handed out keeps what it held');
  const after = (await store.placements.snapshot?.()) ?? [];
  t.deepEqual(after.find((p) => p.workload === 'web')?.replicas, { '1': 'gw-2' });
  t.is(after.find((p) => p.workload === 'db'), db, 'a placement without replicas there is the same object');
  await store.close();
  const reopened = await openLowdbStore(dir.path, (m) => t.fail(m));
  t.deepEqual((await reopened.placements.list()).sort((a, b) => a.workload.localeCompare(b.workload)), [
    { workload: 'db', replicas: { '0': 'gw-2' } },
    { workload: 'web', replicas: { '1': 'gw-2' } },
  ]);
  await reopened.close();
});
