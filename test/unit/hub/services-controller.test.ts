// ServicesController on an in-memory store: each device that uses a service is sent its
// document (retained, on its own services topic) when it changes, and only then; a device that
// stops using every service is sent an empty list once.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { serviceSpecSchema, templateSchema, topics, type DesiredState, type DeviceServices, type DeviceStatus, type ServiceRecord } from '../../../src/protocol/index.js';
import { ServicesController } from '../../../src/hub/services/services-controller.js';
import type { DeviceRecord, WorkloadRecord } from '../../../src/hub/store/records.js';
import { gatewayFacts } from '../../support/facts-fixture.js';
import { MemoryStore } from '../../support/memory-store.js';

const time = '2026-05-04T12:00:00Z';
const online: DeviceStatus = { state: 'online', reason: 'connected', agentVersion: 't', bootId: 'b', sessionId: 's', since: time };

function device(id: string, address: string): DeviceRecord {
  return { id, hardwareId: `hw-${id}`, hostname: id, labels: {}, taints: [], unschedulable: false, credentialHash: 'x', registeredAt: time, joinedWithToken: 't', status: online, facts: { ...gatewayFacts(), address } };
}

const service: ServiceRecord = { name: 'web', labels: {}, annotations: {}, spec: serviceSpecSchema.parse({ selector: { matchLabels: { app: 'web' } }, ports: [{ port: 18080, targetPort: 80 }] }), createdAt: time, updatedAt: time };
const server = templateSchema.parse({ runtime: 'process', command: ['httpd'], ports: [{ containerPort: 80 }] });
const client = templateSchema.parse({ runtime: 'process', command: ['sleep', '1'], services: ['web'] });
const workload = (name: string, labels: Record<string, string>): WorkloadRecord => ({ name, labels, annotations: {}, spec: {} as WorkloadRecord['spec'], revision: 'aaaaaaaa', createdAt: time, updatedAt: time });
const desired = (instances: [string, typeof server][]): DesiredState => ({ generation: 1, issuedAt: time, instances: instances.map(([id, template]) => ({ id, workload: id, revision: 'aaaaaaaa', template })) });

function setup() {
  const memory = new MemoryStore();
  const services = [service];
  const store = memory.hubStore({ services: { list: async () => structuredClone(services), get: async () => undefined, delete: async () => false } });
  memory.devices.set('a', device('a', '10.0.0.1'));
  memory.devices.set('b', device('b', '10.0.0.2'));
  memory.workloads.set('web', workload('web', { app: 'web' }));
  memory.workloads.set('client', workload('client', {}));
  memory.desired.set('a', desired([['client', client]]));
  memory.desired.set('b', desired([['web', server]]));
  memory.reported.set('b', { observedGeneration: 1, time, instances: [{ id: 'web', workload: 'web', revision: 'aaaaaaaa', runtime: 'process', phase: 'running', ready: true, restarts: 0 }] });
  const sent: { topic: string; payload: DeviceServices; retain: boolean }[] = [];
  const controller = new ServicesController({ store, publish: async (topic, payload, retain) => void sent.push({ topic, payload: payload as DeviceServices, retain }), now: () => new Date(time), log: createLogger('test', 'error') });
  return { memory, sent, controller };
}

test('the using device is sent the endpoints, retained; an unchanged pass sends nothing', async (t) => {
  const { sent, controller } = setup();
  await controller.reconcile();
  t.is(sent.length, 1);
  t.is(sent[0]?.topic, topics.services('a'));
  t.true(sent[0]?.retain);
  t.deepEqual(sent[0]?.payload.services[0]?.endpoints.map((e) => `${e.host}:${e.ports[0]?.port}`), ['10.0.0.2:80']);
  await controller.reconcile();
  t.is(sent.length, 1);
});

test('an endpoint that stops being ready is taken out; a device that stops using the service gets an empty list once', async (t) => {
  const { memory, sent, controller } = setup();
  await controller.reconcile();
  memory.reported.set('b', { observedGeneration: 1, time, instances: [{ id: 'web', workload: 'web', revision: 'aaaaaaaa', runtime: 'process', phase: 'crash-loop', ready: false, restarts: 1 }] });
  await controller.reconcile();
  t.is(sent.length, 2);
  t.deepEqual(sent[1]?.payload.services[0]?.endpoints, []);
  t.true((sent[1]?.payload.version ?? 0) > (sent[0]?.payload.version ?? 0));
  memory.desired.set('a', desired([]));
  await controller.reconcile();
  await controller.reconcile();
  t.is(sent.length, 3);
  t.deepEqual(sent[2]?.payload.services, []);
  t.deepEqual((await controller.plan()).status.get('web')?.usedBy, []);
});

test('endpoints that come and go are events on the service, saying which and why; the first pass after a start only learns them', async (t) => {
  const { memory, controller } = setup();
  await controller.reconcile();
  t.deepEqual(memory.events.get('service/web') ?? [], [], 'a (re)started hub does not report every endpoint as new');
  memory.reported.set('b', { observedGeneration: 1, time, instances: [{ id: 'web', workload: 'web', revision: 'aaaaaaaa', runtime: 'process', phase: 'crash-loop', ready: false, restarts: 1 }] });
  await controller.reconcile();
  const [gone] = memory.events.get('service/web') ?? [];
  t.is(gone?.reason, 'EndpointsChanged');
  t.is(gone?.type, 'Warning', 'no endpoint left');
  t.is(gone?.message, 'removed b/web (b/web: not ready (crash-loop)): 0 endpoint(s) now');
  memory.reported.set('b', { observedGeneration: 1, time, instances: [{ id: 'web', workload: 'web', revision: 'aaaaaaaa', runtime: 'process', phase: 'running', ready: true, restarts: 1 }] });
  await controller.reconcile();
  await controller.reconcile();
  const events = memory.events.get('service/web') ?? [];
  t.is(events.length, 2, 'an unchanged pass adds nothing');
  t.is(events[1]?.message, 'added b/web: 1 endpoint(s) now');
  t.is(events[1]?.type, 'Normal');
});

test('a restarted hub (a new controller over the same store) sends every services document again: what was sent is not remembered', async (t) => {
  const { memory, sent, controller } = setup();
  await controller.reconcile();
  t.is(sent.length, 1);
  // The store is all that survives a restart; the embedded broker forgot the retained documents.
  const restarted = new ServicesController({ store: memory.hubStore({ services: { list: async () => [structuredClone(service)], get: async () => undefined, delete: async () => false } }), publish: async (topic, payload, retain) => void sent.push({ topic, payload: payload as DeviceServices, retain }), now: () => new Date(time), log: createLogger('test', 'error') });
  await restarted.reconcile();
  t.is(sent.length, 2);
  t.is(sent[1]?.topic, topics.services('a'));
  t.true(sent[1]?.retain);
  t.deepEqual(sent[1]?.payload.services, sent[0]?.payload.services);
});
