// FleetState keeps the usage summed from a device's instance list by the list's identity (the hub
// keeps each device's list between passes while it holds the same instances). Placing mutates a
// fleet's usage, so two fleets built from the same snapshots must not see each other's placements,
// host ports and extended resources included.
import test from 'ava';
import { FleetState } from '../../../src/scheduler/index.js';
import { containerTemplate, device, GiB, instance, options, spec } from './fixtures.js';

test('fleets built from the same snapshots (the same instance lists) do not share usage', (t) => {
  const held = [instance('other-0', 'other', { memoryBytes: 1 * GiB, hostPorts: [{ port: 9000, protocol: 'TCP' }], deviceResources: { 'rk3588.npu': 1 } })];
  const snapshots = ['a', 'b'].map((id) => device(id, { memory: 4 * GiB, resources: { 'rk3588.npu': 2 }, instances: held }));
  const request = {
    name: 'web',
    spec: spec({ template: containerTemplate({ ports: [{ containerPort: 80, hostPort: 8080 }], resources: { requests: { memory: '1Gi' }, devices: { 'rk3588.npu': 1 } } }) }),
    replicas: 2,
  };
  const first = new FleetState(snapshots, options).place(request);
  t.is(first.placements.length, 2, 'one per device (host port 8080 once per device)');
  // The second fleet starts from the same lists: had the first fleet's placements leaked into the
  // kept usage (memory, the host port set, the extended resource map), nothing would fit here.
  const second = new FleetState(snapshots, options).place(request);
  t.deepEqual(second.placements.map((p) => p.deviceId).sort(), ['a', 'b']);
  const third = new FleetState(snapshots, options);
  t.is(third.usage[0]?.memoryBytes, 1 * GiB, 'the usage is what the snapshot holds, not what earlier fleets placed');
  t.deepEqual([...(third.usage[0]?.hostPorts ?? [])], ['9000/TCP']);
  t.is(third.usage[0]?.extended.get('rk3588.npu'), 1);
});

test('replica counts of a workload include the snapshot and what the fleet recorded since', (t) => {
  const snapshots = [device('a', { instances: [instance('web-0', 'web'), instance('web-1', 'web')] }), device('b'), device('c', { instances: [instance('web-2', 'web')] })];
  const fleet = new FleetState(snapshots, options);
  t.deepEqual([...fleet.replicasOf('web')].sort(), [[0, 2], [2, 1]]);
  t.deepEqual([...fleet.replicasOf('db')], []);
  fleet.recordReplica('db', 1);
  fleet.recordReplica('web', 1);
  t.deepEqual([...fleet.replicasOf('db')], [[1, 1]]);
  t.deepEqual([...fleet.replicasOf('web')].sort(), [[0, 2], [1, 1], [2, 1]]);
});
