import test from 'ava';
import { workloadSpecSchema, type DeviceStatus } from '../../../src/protocol/index.js';
import type { DeviceRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import { runPlacementPass } from '../../../src/hub/workloads/placement-pass.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

const now = Date.parse('2026-01-10T08:00:00Z');
const online: DeviceStatus = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: new Date(now - 60_000).toISOString() };

function deviceRecord(id: string, status: DeviceStatus | undefined, serialPorts = [{ path: '/dev/ttyUSB0' }]): DeviceRecord {
  return {
    id,
    hardwareId: `hw-${id}`,
    hostname: id,
    labels: {},
    taints: [],
    unschedulable: false,
    credentialHash: 'x',
    registeredAt: new Date(now - 3_600_000).toISOString(),
    joinedWithToken: 'tok',
    ...(status ? { status } : {}),
    // A join request carries facts: a device that never connected has them too.
    facts: gatewayFacts({ hostname: id, serialPorts }),
  };
}

function workload(name: string, spec: Record<string, unknown>): WorkloadRecord {
  return { name, labels: {}, annotations: {}, spec: workloadSpecSchema.parse(spec), revision: 'r1', createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z' };
}

const template = { runtime: 'process', command: ['sleep', '100'] };

function pass(devices: DeviceRecord[], workloads: WorkloadRecord[]): ReturnType<typeof runPlacementPass> {
  return runPlacementPass({ now, devices, workloads, placements: new Map(), published: new Map(), ready: new Set() });
}

test('a device that joined but never connected gets neither replicas: all nor replicas: N instances', (t) => {
  const devices = [deviceRecord('bench', undefined), deviceRecord('live', online), deviceRecord('gone', { ...online, state: 'offline', reason: 'connection-lost' })];
  const result = pass(devices, [workload('agent-helper', { replicas: 'all', template }), workload('web', { replicas: 3, template })]);
  t.deepEqual([...(result.everyDevice.get('agent-helper') ?? [])].sort(), ['gone', 'live'], 'an offline device that once connected still gets its instance');
  t.deepEqual(Object.values(result.placements.get('web')?.replicas ?? {}), ['live', 'live', 'live']);
});

test('replicas: all on a device without the requested serial device: no instance, and the unplaced reason says why', (t) => {
  const devices = [deviceRecord('with-port', online), deviceRecord('without', online, [])];
  const result = pass(devices, [workload('reader', { replicas: 'all', template: { ...template, serialDevices: ['/dev/ttyUSB0'] } })]);
  t.deepEqual([...(result.everyDevice.get('reader') ?? [])], ['with-port']);
  t.is(result.unplaced.get('reader'), '0/1 devices fit: 1 missing serial device /dev/ttyUSB0');
});
