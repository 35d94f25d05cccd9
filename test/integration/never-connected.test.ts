import test from 'ava';
import mqtt from 'mqtt';
import { randomUUID } from 'node:crypto';
import { topics } from '../../src/protocol/index.js';
import type { RunningHub } from '../../src/hub/main.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { captureLog, registerTestDevice, startTestHub } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

/** Issue 12: a device that joined (its facts came with the join) but never connected runs nothing. */
test('a device that joined but never connected receives no replicas: all and no replicas: N instance', async (t) => {
  const dir = await makeTempDir('ep-never-');
  const log = captureLog();
  const hub: RunningHub = await startTestHub(dir.path, log.logger);
  const live = await registerTestDevice(hub, 'never-live', log.logger);
  const bench = await registerTestDevice(hub, 'never-bench', log.logger);
  const client = await mqtt.connectAsync(hub.brokerUrl, { clientId: live.deviceId, username: live.deviceId, password: live.password, reconnectPeriod: 0 });
  t.teardown(async () => {
    client.end(true);
    await hub.close();
    await dir.remove();
  });
  const api = async (path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${hub.apiUrl}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${hub.createdAdminToken ?? ''}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const status = { state: 'online', reason: 'connected', agentVersion: 'test', bootId: 'boot', sessionId: randomUUID(), since: new Date().toISOString() };
  await client.publishAsync(topics.status(live.deviceId), JSON.stringify(status), { qos: 1, retain: true });
  await client.publishAsync(topics.facts(live.deviceId), JSON.stringify(gatewayFacts({ hostname: 'host-never-live' })), { qos: 1, retain: true });
  await waitFor('the live device online', async () => (((await api(`/v1/devices/${live.deviceId}`)) as { state: string }).state === 'online' ? true : undefined));

  const template = { runtime: 'process', command: ['sleep', '1000'] };
  // Waits for the placement pass, so the instances below are the pass's decision.
  await api('/v1/apply?wait=true', {
    manifests: [
      { apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'helper' }, spec: { replicas: 'all', template } },
      { apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'web' }, spec: { replicas: 2, template } },
    ],
  });
  const devicesOf = async (name: string): Promise<string[]> =>
    ((await api(`/v1/workloads/${name}`)) as { status: { instances: { device: string }[] } }).status.instances.map((i) => i.device);
  t.deepEqual(await devicesOf('helper'), [live.deviceId]);
  t.deepEqual(await devicesOf('web'), [live.deviceId, live.deviceId]);
  t.false((await devicesOf('helper')).includes(bench.deviceId));
});
