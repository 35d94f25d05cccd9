// Report ingestion, the hot path of an apply at fleet scale (issue 11): one report per device.
// A report must not copy the device record (facts included), compare it, or rewrite its control
// part: it checks existence, stores the report and notes lastSeen, nothing more.
import test from 'ava';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import type { DeviceRepository } from '../../../src/hub/store/repository.js';
import type { DeviceRecord, ReportedState } from '../../../src/hub/store/records.js';
import { DeviceObserver } from '../../../src/hub/fleet/device-observer.js';
import { DeviceFeed } from '../../../src/hub/fleet/device-feed.js';
import { createLogger } from '../../../src/common/log.js';
import { gatewayFacts } from '../../support/facts-fixture.js';
import { makeTempDir } from '../../support/paths.js';

const now = new Date('2026-01-10T08:00:00.000Z');

function device(id: string): DeviceRecord {
  return {
    id,
    hardwareId: `hw-${id}`,
    hostname: id,
    labels: { zone: 'a' },
    taints: [],
    unschedulable: false,
    credentialHash: 'x',
    registeredAt: new Date(0).toISOString(),
    joinedWithToken: 't',
    status: { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: new Date(0).toISOString() },
    facts: gatewayFacts({ hostname: id }),
  };
}

const report: ReportedState = {
  observedGeneration: 1,
  time: now.toISOString(),
  instances: [{ id: 'web', workload: 'web', revision: 'r1', runtime: 'process', phase: 'running', ready: true, restarts: 0, startedAt: now.toISOString() }],
};

/** Counts every call of every device repository method. */
function counting(devices: DeviceRepository, calls: Map<string, number>): DeviceRepository {
  return new Proxy(devices, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(key), (calls.get(String(key)) ?? 0) + 1);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

test('a report: existence check and lastSeen only, no record copy or control write; status and facts keep their identity', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  await store.devices.put(device('gw-1'), 'sync');
  const commits = store.commits;
  const [before] = await store.devices.snapshot();
  const calls = new Map<string, number>();
  const feed = new DeviceFeed();
  const aspects: string[] = [];
  feed.subscribe((_id, _type, aspect) => aspects.push(aspect));
  const observer = new DeviceObserver({ devices: counting(store.devices, calls), events: store.events, deviceState: store.deviceState, feed, now: () => now, log: createLogger('t', 'error') });

  await observer.onReported('gw-1', report);

  t.deepEqual(Object.fromEntries(calls), { has: 1, touch: 1 }, 'no get (a copy with facts) and no update (a copy, a compare, a write)');
  t.is(await store.devices.credentialHash('gw-1'), 'x');
  t.deepEqual(await store.deviceState.reported('gw-1'), report);
  const [after] = await store.devices.snapshot();
  t.is(after?.lastSeen, now.toISOString());
  t.is(after?.facts, before?.facts, 'facts not copied: compiled devices keyed on them stay valid');
  t.is(after?.status, before?.status);
  t.is(after?.labels, before?.labels, 'the control part is the same object: not rewritten');
  await store.settled();
  t.is(store.commits, commits, 'no durable commit of the control document for a report');
  t.deepEqual(aspects, ['reported']);
  await store.close();
});

test('a report from an unknown device changes nothing', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  const warnings: string[] = [];
  const observer = new DeviceObserver({ devices: store.devices, events: store.events, deviceState: store.deviceState, feed: new DeviceFeed(), now: () => now, log: createLogger('t', 'warn', (l) => warnings.push(l)) });
  await observer.onReported('ghost', report);
  t.is(await store.deviceState.reported('ghost'), undefined);
  t.false(await store.devices.has('ghost'));
  t.is(await store.devices.credentialHash('ghost'), undefined);
  t.false(await store.devices.touch('ghost', now.toISOString()), 'touch does not create a record');
  t.is((await store.devices.snapshot()).length, 0);
  t.is(warnings.length, 1);
  await store.close();
});

test('lastSeen from touch survives a close and reopen (flushed lazily with observed state)', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  await store.devices.put(device('gw-1'), 'sync');
  t.true(await store.devices.touch('gw-1', now.toISOString()));
  await store.close();
  const reopened = await openLowdbStore(dir.path, () => undefined);
  t.is((await reopened.devices.get('gw-1'))?.lastSeen, now.toISOString());
  t.is((await reopened.devices.get('gw-1'))?.status?.state, 'online');
  await reopened.close();
});

test('a status: observed state only (no record copy, no control write); a will from an older connection is ignored', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  await store.devices.put({ ...device('gw-1'), status: { state: 'offline', reason: 'shutdown', agentVersion: 't', bootId: 'b', sessionId: 's0', since: new Date(0).toISOString() } }, 'sync');
  const commits = store.commits;
  const [before] = await store.devices.snapshot();
  const calls = new Map<string, number>();
  const observer = new DeviceObserver({ devices: counting(store.devices, calls), events: store.events, deviceState: store.deviceState, feed: new DeviceFeed(), now: () => now, log: createLogger('t', 'error') });

  await observer.onStatus('gw-1', { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's2', since: now.toISOString() });
  t.deepEqual(Object.fromEntries(calls), { observe: 1 });
  const [after] = await store.devices.snapshot();
  t.is(after?.status?.state, 'online');
  t.is(after?.lastSeen, now.toISOString());
  t.is(after?.labels, before?.labels, 'the control part is not rewritten');
  t.is(after?.facts, before?.facts, 'facts not copied');
  t.deepEqual((await store.events.list('device/gw-1')).map((e) => e.reason), ['DeviceOnline']);

  // The will of the connection before s2 arrives late: the device stays online.
  await observer.onStatus('gw-1', { state: 'offline', reason: 'connection-lost', agentVersion: 't', bootId: 'b', sessionId: 's1', since: new Date(0).toISOString() });
  t.is((await store.devices.get('gw-1'))?.status?.sessionId, 's2');
  await observer.onStatus('gw-1', { state: 'offline', reason: 'connection-lost', agentVersion: 't', bootId: 'b', sessionId: 's2', since: new Date(0).toISOString() });
  const offline = await store.devices.get('gw-1');
  t.is(offline?.status?.state, 'offline');
  t.is(offline?.status?.since, now.toISOString(), 'a will is dated when it arrives');
  await store.settled();
  t.is(store.commits, commits, 'no durable commit for status changes');
  await store.close();
});

test('a reconnection (online again while online, the same facts) tells the feed placement has nothing new; a transition or new facts do', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  await store.devices.put(device('gw-1'), 'sync');
  const feed = new DeviceFeed();
  const heard: string[] = [];
  feed.subscribe((_id, _type, aspect, scheduling) => heard.push(`${aspect}:${scheduling ? 'placement' : 'no-placement'}`));
  const observer = new DeviceObserver({ devices: store.devices, events: store.events, deviceState: store.deviceState, feed, now: () => now, log: createLogger('t', 'error') });
  const status = (state: 'online' | 'offline', sessionId: string) => ({ state, reason: state === 'online' ? ('connected' as const) : ('connection-lost' as const), agentVersion: 't', bootId: 'b', sessionId, since: now.toISOString() });

  // What a hub restart's storm brings: the store still says online, the agent sends the same facts.
  await observer.onStatus('gw-1', status('online', 's2'));
  const [before] = await store.devices.snapshot();
  await observer.onFacts('gw-1', gatewayFacts({ hostname: 'gw-1' }));
  const [after] = await store.devices.snapshot();
  t.is(after?.facts, before?.facts, 'the same facts again keep the stored object: compiled devices keyed on it stay valid');
  // Then real changes: a lost connection, online again, and facts that differ.
  await observer.onStatus('gw-1', status('offline', 's2'));
  await observer.onStatus('gw-1', status('online', 's3'));
  await observer.onFacts('gw-1', { ...gatewayFacts({ hostname: 'gw-1' }), temperatureC: 71 });
  t.deepEqual(heard, ['status:no-placement', 'facts:no-placement', 'status:placement', 'status:placement', 'facts:placement']);
  await store.close();
});

test('facts sent again unchanged (every reconnection): no record copy, no update, no control write; only lastSeen', async (t) => {
  const dir = await makeTempDir();
  t.teardown(() => dir.remove());
  const store = await openLowdbStore(dir.path, () => undefined);
  const observer0 = new DeviceObserver({ devices: store.devices, events: store.events, deviceState: store.deviceState, feed: new DeviceFeed(), now: () => now, log: createLogger('t', 'error') });
  await store.devices.put(device('gw-1'), 'sync');
  // The first facts bring the derived labels (arch, os, hostname) into the record.
  await observer0.onFacts('gw-1', gatewayFacts({ hostname: 'gw-1' }));
  await store.settled();
  const commits = store.commits;
  const [before] = await store.devices.snapshot();
  const calls = new Map<string, number>();
  const observer = new DeviceObserver({ devices: counting(store.devices, calls), events: store.events, deviceState: store.deviceState, feed: new DeviceFeed(), now: () => new Date(now.getTime() + 5000), log: createLogger('t', 'error') });

  for (let i = 0; i < 3; i++) await observer.onFacts('gw-1', gatewayFacts({ hostname: 'gw-1' }));

  t.deepEqual(Object.fromEntries(calls), { view: 3, touch: 3 }, 'no get, no update (each a copy of the record with its facts)');
  const [after] = await store.devices.snapshot();
  t.is(after?.lastSeen, new Date(now.getTime() + 5000).toISOString());
  t.is(after?.facts, before?.facts);
  t.is(after?.labels, before?.labels, 'the control part is the same object: not rewritten');
  await store.settled();
  t.is(store.commits, commits);

  // Facts that differ, a hostname that differs, or a derived label an operator removed go through update.
  calls.clear();
  await observer.onFacts('gw-1', { ...gatewayFacts({ hostname: 'gw-1' }), temperatureC: 71 });
  await observer.onFacts('gw-1', gatewayFacts({ hostname: 'gw-1b' }));
  t.is(calls.get('update'), 2);
  t.is((await store.devices.get('gw-1'))?.hostname, 'gw-1b');
  await store.close();
});
