// planEndpoints (src/hub/services/endpoints.ts): which instances are a Service's endpoints, and
// what each device is sent (only the services its own instances use, within the service's scope,
// with the locality the proxy prefers).
import test from 'ava';
import { serviceSpecSchema, templateSchema, type DesiredState, type DeviceStatus, type ReportedState, type ServiceRecord } from '../../../src/protocol/index.js';
import { planEndpoints, servicesUsedBy, type EndpointInputs } from '../../../src/hub/services/endpoints.js';
import type { DeviceRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

const online: DeviceStatus = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: '2026-05-04T11:00:00Z' };
const time = '2026-05-04T12:00:00Z';

function device(id: string, labels: Record<string, string>, address: string | null, status: DeviceStatus = online): DeviceRecord {
  const facts = gatewayFacts({ hostname: id });
  return {
    id,
    hardwareId: `hw-${id}`,
    hostname: id,
    labels,
    taints: [],
    unschedulable: false,
    credentialHash: 'x',
    registeredAt: time,
    joinedWithToken: 'tok',
    status,
    facts: address === null ? facts : { ...facts, address },
  };
}

const serverTemplate = templateSchema.parse({ runtime: 'container', image: 'busybox', ports: [{ containerPort: 80, hostPort: 8080 }] });
const clientTemplate = templateSchema.parse({ runtime: 'container', image: 'busybox', services: ['web'] });

function workload(name: string, labels: Record<string, string>, revision: string): WorkloadRecord {
  return { name, labels, annotations: {}, spec: {} as WorkloadRecord['spec'], revision, createdAt: time, updatedAt: time };
}

function service(name: string, scope: 'device' | 'site' | 'fleet', selector: Record<string, string> = { app: 'web' }): ServiceRecord {
  return { name, labels: {}, annotations: {}, spec: serviceSpecSchema.parse({ selector: { matchLabels: selector }, ports: [{ port: 18080, targetPort: 80 }], scope }), createdAt: time, updatedAt: time };
}

function desired(instances: { id: string; workload: string; template: typeof serverTemplate }[]): DesiredState {
  return { generation: 1, issuedAt: time, instances: instances.map((i) => ({ ...i, revision: 'aaaaaaaa' })) };
}

function reported(ids: string[], ready = true): ReportedState {
  return { observedGeneration: 1, time, instances: ids.map((id) => ({ id, workload: 'web', revision: 'aaaaaaaa', runtime: 'container', phase: 'running', ready, restarts: 0 })) };
}

/** Servers on a (site s1), b (site s1), c (site s2); the client runs on a. */
function fleet(scope: 'device' | 'site' | 'fleet'): EndpointInputs {
  return {
    services: [service('web', scope)],
    workloads: [workload('web', { app: 'web' }, 'aaaaaaaa'), workload('client', {}, 'aaaaaaaa')],
    devices: [device('a', { site: 's1' }, '10.0.0.1'), device('b', { site: 's1' }, '10.0.0.2'), device('c', { site: 's2' }, '10.0.0.3')],
    desired: new Map([
      ['a', desired([{ id: 'web', workload: 'web', template: serverTemplate }, { id: 'client', workload: 'client', template: clientTemplate }])],
      ['b', desired([{ id: 'web', workload: 'web', template: serverTemplate }])],
      ['c', desired([{ id: 'web', workload: 'web', template: serverTemplate }])],
    ]),
    reported: new Map([
      ['a', reported(['web', 'client'])],
      ['b', reported(['web'])],
      ['c', reported(['web'])],
    ]),
  };
}

test('endpoints are the ready instances, at their device address and published port; only the using device is sent the service', (t) => {
  const plan = planEndpoints(fleet('fleet'));
  t.deepEqual([...plan.byDevice.keys()], ['a']);
  const [web] = plan.byDevice.get('a') ?? [];
  t.is(web?.name, 'web');
  t.deepEqual(
    web?.endpoints.map((e) => [e.deviceId, e.host, e.ports[0]?.port, e.locality]),
    [
      ['a', '10.0.0.1', 8080, 'device'],
      ['b', '10.0.0.2', 8080, 'site'],
      ['c', '10.0.0.3', 8080, 'other'],
    ],
  );
  t.deepEqual(plan.status.get('web')?.usedBy, ['a']);
});

test('scope device keeps only the same device, scope site only devices that share the site label', (t) => {
  t.deepEqual(planEndpoints(fleet('device')).byDevice.get('a')?.[0]?.endpoints.map((e) => e.deviceId), ['a']);
  t.deepEqual(planEndpoints(fleet('site')).byDevice.get('a')?.[0]?.endpoints.map((e) => e.deviceId), ['a', 'b']);
});

test('an instance not ready, not at its revision, on an offline device or one without an address is no endpoint, and says why', (t) => {
  const inputs = fleet('fleet');
  const offline: DeviceStatus = { ...online, state: 'offline', reason: 'connection-lost' };
  inputs.reported = new Map([
    ['a', reported(['web', 'client'], false)],
    ['b', { ...reported(['web']), instances: reported(['web']).instances.map((i) => ({ ...i, revision: 'bbbbbbbb' })) }],
    ['c', reported(['web'])],
  ]);
  inputs.devices = [device('a', { site: 's1' }, '10.0.0.1'), device('b', { site: 's1' }, '10.0.0.2'), device('c', { site: 's2' }, null)];
  const plan = planEndpoints(inputs);
  t.deepEqual(plan.byDevice.get('a')?.[0]?.endpoints, []);
  t.deepEqual(
    plan.status.get('web')?.notReady.map((n) => [n.deviceId, n.reason]),
    [
      ['a', 'not ready (running)'],
      ['b', 'not reported at its current revision yet'],
      ['c', 'its device reports no address (agent --advertise-address)'],
    ],
  );
  inputs.devices = [device('a', { site: 's1' }, '10.0.0.1', offline)];
  t.deepEqual(planEndpoints(inputs).status.get('web')?.notReady[0]?.reason, 'device is not online');
});

test('a selected template without the target port is no endpoint; without hostPort the container port is used (host networking)', (t) => {
  const inputs = fleet('fleet');
  const noPort = templateSchema.parse({ runtime: 'container', image: 'busybox' });
  const hostNet = templateSchema.parse({ runtime: 'process', command: ['httpd'], ports: [{ containerPort: 80 }] });
  inputs.desired = new Map([...inputs.desired, ['b', desired([{ id: 'web', workload: 'web', template: noPort }])], ['c', desired([{ id: 'web', workload: 'web', template: hostNet }])]]);
  const plan = planEndpoints(inputs);
  t.deepEqual(plan.status.get('web')?.notReady.map((n) => [n.deviceId, n.reason]), [['b', 'its template declares no TCP port 80']]);
  t.deepEqual(plan.byDevice.get('a')?.[0]?.endpoints.find((e) => e.deviceId === 'c')?.ports, [{ targetPort: 80, port: 80 }]);
});

test('a service nobody uses is sent to no device; one used but not applied is left out', (t) => {
  const inputs = fleet('fleet');
  inputs.services = [service('other', 'fleet')];
  const plan = planEndpoints(inputs);
  t.is(plan.byDevice.size, 0);
  t.deepEqual(plan.status.get('other')?.usedBy, []);
  t.is(plan.status.get('other')?.endpoints.length, 3);
});

test('a device whose Job or CronJob uses a service is sent it too (Jobs get the same service env as instances)', (t) => {
  const jobTemplate = templateSchema.parse({ runtime: 'process', command: ['true'], services: ['db'] });
  const desired = {
    generation: 1,
    issuedAt: time,
    instances: [],
    jobs: [{ name: 'backup', uid: 'abcdef12', spec: { template: jobTemplate } }],
    cronJobs: [{ name: 'nightly', spec: { jobTemplate: { template: templateSchema.parse({ runtime: 'process', command: ['true'], services: ['cache'] }) } } }],
  } as unknown as DesiredState;
  t.deepEqual([...servicesUsedBy(desired)].sort(), ['cache', 'db']);
});
