import test from 'ava';
import mqtt, { type MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { desiredStateSchema, deviceViewSchema, topics, watchEventSchema, type DesiredState } from '../../src/protocol/index.js';
import type { RunningHub } from '../../src/hub/main.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { isolatedEnv } from '../support/fleet.js';
import { captureLog, registerTestDevice, startTestHub } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { runCli } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/** A device as the hub sees it over MQTT: online, with facts, holding its latest desired state. */
async function onlineDevice(hub: RunningHub, device: { deviceId: string; password: string }): Promise<{ client: MqttClient; desired(): DesiredState | undefined; closed: Promise<void> }> {
  const client = await mqtt.connectAsync(hub.brokerUrl, { clientId: device.deviceId, username: device.deviceId, password: device.password, reconnectPeriod: 0 });
  let latest: DesiredState | undefined;
  client.on('message', (_topic, payload) => {
    if (payload.length > 0) latest = desiredStateSchema.parse(JSON.parse(payload.toString('utf8')));
  });
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  await client.subscribeAsync(topics.desired(device.deviceId), { qos: 1 });
  const status = { state: 'online', reason: 'connected', agentVersion: 'test', bootId: 'b', sessionId: randomBytes(8).toString('hex'), since: new Date().toISOString() };
  await client.publishAsync(topics.status(device.deviceId), JSON.stringify(status), { qos: 1, retain: true });
  await client.publishAsync(topics.facts(device.deviceId), JSON.stringify(gatewayFacts()), { qos: 1, retain: true });
  return { client, desired: () => latest, closed };
}

/** Reads an NDJSON watch until a line satisfies `wanted`. */
async function firstLine(response: Response, wanted: (e: { type: string; object: { id: string } }) => boolean): Promise<{ type: string; object: { id: string } }> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body ?? []) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines.filter((l) => l.trim() !== '')) {
      const event = JSON.parse(line) as { type: string; object: { id: string } };
      if (wanted(event)) return event;
    }
  }
  throw new Error('the watch ended');
}

test('delete device: its record and credential go, its session is closed, its replica is placed elsewhere', async (t) => {
  const dir = await makeTempDir('ep-delete-device-');
  const log = captureLog();
  let hub = await startTestHub(dir.path, log.logger);
  const token = hub.createdAdminToken ?? '';
  t.teardown(async () => {
    await hub.close();
    await dir.remove();
  });
  const cli = (args: string[]) => runCli(args, { ...isolatedEnv(dir.path), EDGEPILOT_HUB: hub.apiUrl, EDGEPILOT_TOKEN: token });
  const a = await registerTestDevice(hub, 'delete-board-a', log.logger);
  const b = await registerTestDevice(hub, 'delete-board-b', log.logger);
  const devices = { [a.deviceId]: await onlineDevice(hub, a), [b.deviceId]: await onlineDevice(hub, b) };

  const manifest = join(dir.path, 'one.yaml');
  await writeFile(
    manifest,
    'apiVersion: edgepilot.io/v1\nkind: Workload\nmetadata:\n  name: one\nspec:\n  replicas: 1\n  template:\n    runtime: process\n    command: ["/bin/true"]\n',
  );
  t.is((await cli(['apply', '-f', manifest])).code, 0);
  const runs = (id: string): boolean => (devices[id]?.desired()?.instances ?? []).some((i) => i.workload === 'one');
  const first = await waitFor('the replica placed', () => [a.deviceId, b.deviceId].find(runs));
  const other = first === a.deviceId ? b : a;
  const victim = first === a.deviceId ? a : b;

  const watch = await fetch(`${hub.apiUrl}/v1/devices?watch=true`, { headers: { authorization: `Bearer ${token}` } });
  const deletedEvent = firstLine(watch, (e) => e.type === 'DELETED');

  const deleted = await cli(['delete', 'device', victim.deviceId]);
  t.is(deleted.code, 0, deleted.stderr);
  t.is(deleted.stdout.trim(), `device/${victim.deviceId} deleted`);

  const event = await deletedEvent;
  t.is(event.object.id, victim.deviceId, 'a watch sees DELETED with the last state of the device');
  t.true(watchEventSchema(deviceViewSchema).safeParse(event).success, 'in the shape the CLI reads');

  await devices[victim.deviceId]?.closed;
  t.pass('its broker session was closed');
  const again = await t.throwsAsync(mqtt.connectAsync(hub.brokerUrl, { clientId: victim.deviceId, username: victim.deviceId, password: victim.password, reconnectPeriod: 0 }));
  t.is((again as Error & { code?: number }).code, 4, 'its credential is refused (bad username or password)');

  await waitFor('the replica placed on the other device', () => runs(other.deviceId));
  const listed = await cli(['get', 'devices', '-o', 'name']);
  t.is(listed.code, 0, listed.stderr);
  t.false(listed.stdout.includes(victim.deviceId), listed.stdout);
  t.true(listed.stdout.includes(other.deviceId));
  const describe = await cli(['describe', 'device', victim.deviceId]);
  t.is(describe.code, 1);
  t.regex(describe.stderr, new RegExp(`device ${victim.deviceId} not found`));
  const events = await cli(['describe', 'workload', 'one']);
  t.regex(events.stdout, new RegExp(`DeviceDeleted.*replica 0 was on device ${victim.deviceId}, which was deleted`));
  t.is((await cli(['delete', 'device', victim.deviceId])).stderr.trim(), `error: device ${victim.deviceId} not found`);

  // The deletion is durable: a restarted hub does not know the device either.
  for (const d of Object.values(devices)) d.client.end(true);
  // An open watch must not hold the hub's shutdown (it ends with the hub).
  await hub.close();
  hub = await startTestHub(dir.path, log.logger);
  const relisted = await cli(['get', 'devices', '-o', 'name']);
  t.false(relisted.stdout.includes(victim.deviceId));
  t.true(relisted.stdout.includes(other.deviceId));
});
