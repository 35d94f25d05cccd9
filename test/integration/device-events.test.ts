import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { randomUUID } from 'node:crypto';
import { topics, wellKnownLabels } from '../../src/protocol/index.js';
import type { RunningHub } from '../../src/hub/main.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { captureLog, registerTestDevice, startTestHub, type CapturedLog } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 12: a device may publish events only about its own instances. An event naming another
 * device's workload must not appear in that workload's history.
 */
interface Device {
  deviceId: string;
  password: string;
  hostname: string;
  client?: MqttClient;
}

const ctx = {} as { hub: RunningHub; log: CapturedLog; a: Device; b: Device; cleanup(): Promise<void> };

async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<unknown> {
  const response = await fetch(`${ctx.hub.apiUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${ctx.hub.createdAdminToken ?? ''}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function bringOnline(hardwareId: string): Promise<Device> {
  const { deviceId, password } = await registerTestDevice(ctx.hub, hardwareId, ctx.log.logger);
  const hostname = `host-${hardwareId}`;
  const client = await mqtt.connectAsync(ctx.hub.brokerUrl, { clientId: deviceId, username: deviceId, password, reconnectPeriod: 0 });
  const status = { state: 'online', reason: 'connected', agentVersion: 'test', bootId: 'boot', sessionId: randomUUID(), since: new Date().toISOString() };
  await client.publishAsync(topics.status(deviceId), JSON.stringify(status), { qos: 1, retain: true });
  await client.publishAsync(topics.facts(deviceId), JSON.stringify(gatewayFacts({ hostname })), { qos: 1, retain: true });
  return { deviceId, password, hostname, client };
}

function workloadOn(name: string, hostname: string): unknown {
  return {
    apiVersion: 'edgepilot.io/v1',
    kind: 'Workload',
    metadata: { name },
    spec: { replicas: 1, selector: { matchLabels: { [wellKnownLabels.hostname]: hostname } }, template: { runtime: 'process', command: ['sleep', '1000'] } },
  };
}

async function eventsOf(workload: string): Promise<{ reason: string; message: string }[]> {
  return ((await api(`/v1/workloads/${workload}`)) as { events: { reason: string; message: string }[] }).events;
}

async function publishEvent(device: Device, workload: string, reason: string, message: string): Promise<void> {
  const event = { time: new Date().toISOString(), type: 'Warning', reason, message, object: { kind: 'Workload', name: workload } };
  await device.client?.publishAsync(topics.events(device.deviceId), JSON.stringify(event), { qos: 1 });
}

test.before(async () => {
  const dir = await makeTempDir('ep-events-');
  ctx.log = captureLog();
  ctx.hub = await startTestHub(dir.path, ctx.log.logger);
  ctx.a = await bringOnline('events-board-a');
  ctx.b = await bringOnline('events-board-b');
  await waitFor('both devices online with facts', async () => {
    const devices = (await api('/v1/devices')) as { items: { state: string; facts?: unknown }[] };
    return devices.items.length === 2 && devices.items.every((d) => d.state === 'online' && d.facts) ? true : undefined;
  });
  ctx.cleanup = async () => {
    for (const d of [ctx.a, ctx.b]) d?.client?.end(true);
    await ctx.hub.close();
    await dir.remove();
  };
});

test.after.always(async () => ctx.cleanup?.());

test.serial("an event naming another device's workload stays out of that workload's history; one about its own instance is shown", async (t) => {
  // With ?wait=true apply answers after the placement pass that includes it has stored each
  // device's desired document (without, it answers once the workloads are durable).
  await api('/v1/apply?wait=true', { method: 'POST', body: { manifests: [workloadOn('victim', ctx.b.hostname), workloadOn('own', ctx.a.hostname)] } });
  const placedOn = async (name: string, device: Device): Promise<boolean> => (await eventsOf(name)).some((e) => e.reason === 'Scheduled' && e.message.includes(device.deviceId));
  t.true(await placedOn('victim', ctx.b), 'victim runs on b');
  t.true(await placedOn('own', ctx.a), 'own runs on a');

  await publishEvent(ctx.a, 'victim', 'BackOff', 'victim-0 exited with code 1; forged by a');
  await publishEvent(ctx.a, 'own', 'BackOff', 'own-0 exited with code 1; really on a');
  await waitFor("a's own event is in own's history", async () => ((await eventsOf('own')).some((e) => e.message.includes('really on a')) ? true : undefined));
  const victimEvents = await eventsOf('victim');
  t.false(victimEvents.some((e) => e.message.includes('forged by a')), JSON.stringify(victimEvents));
  t.true(ctx.log.has(new RegExp(`event from ${ctx.a.deviceId} out of workload victim's history`)));

  // The device the victim runs on may still report about it.
  await publishEvent(ctx.b, 'victim', 'BackOff', 'victim-0 exited with code 1; really on b');
  await waitFor("b's event is in victim's history", async () => ((await eventsOf('victim')).some((e) => e.message.includes('really on b')) ? true : undefined));
  t.pass();
});
