// Redis restarted empty under two hubs (issue 15): the retained desired documents it held are
// gone, and a device connecting afterwards (here: an agent's identity, with nothing kept but its
// credentials) got nothing until the next change for it. The leader notices the missing marker
// (broker/retained-marker.ts) and publishes what the store holds again: the device, connecting
// to the hub that does not lead, finds its document retained at its SUBSCRIBE.
import test from 'ava';
import mqtt from 'mqtt';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { desiredStateSchema, topics, type DesiredState } from '../../src/protocol/index.js';
import type { HubHandle } from '../support/fleet.js';
import { severalHubsRig, startAgentPerHub, startSharedHubs } from '../support/several-hubs.js';
import { waitFor } from '../support/wait.js';
import { applyYaml, instancesOf } from '../support/workloads.js';

const workload = `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: kept }
spec:
  replicas: all
  template: { runtime: process, command: [sleep, "3600"] }
`;

/** Connects as the device, subscribes to its desired topic, and answers the retained document it is handed at once (undefined: none). */
async function retainedDesired(brokerUrl: string, identity: { deviceId: string; password: string }): Promise<DesiredState | undefined> {
  const client = await mqtt.connectAsync(brokerUrl, { clientId: identity.deviceId, username: identity.deviceId, password: identity.password, reconnectPeriod: 0, connectTimeout: 5000 });
  try {
    const got = new Promise<DesiredState | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), 1500);
      client.on('message', (_topic, payload, packet) => {
        if (!packet.retain || payload.length === 0) return;
        clearTimeout(timer);
        resolve(desiredStateSchema.parse(JSON.parse(payload.toString('utf8'))));
      });
    });
    await client.subscribeAsync(topics.desired(identity.deviceId), { qos: 1 });
    return await got;
  } finally {
    await client.endAsync(true);
  }
}

test('Redis restarted empty under two hubs: the leader publishes the stored desired documents again, and a device connecting afterwards gets its own', async (t) => {
  t.timeout(240_000);
  const rig = await severalHubsRig(t, 'ep-redis-lost-');
  const { redis, procs } = rig;
  const [a, b] = (await startSharedHubs({ ...rig, ids: ['hub-a', 'hub-b'], procs })) as [HubHandle, HubHandle];
  const [agent] = await startAgentPerHub([a], { root: rig.root, boardPrefix: 'lost-board', procs });
  const explain = async (err: unknown): Promise<never> => {
    t.log(`--- agent\n${agent!.output.slice(-2000)}`);
    for (const hub of [a, b]) t.log(`--- hub ${hub.apiUrl}\n${hub.proc.output.slice(-3000)}`);
    throw err;
  };
  await waitFor('the device online', async () => (await a.devices()).some((d) => d.state === 'online'), 120_000, 500).catch(explain);
  await applyYaml(a, rig.root, 'kept.yaml', workload);
  await waitFor('kept running', async () => (await instancesOf(b, 'kept')).some((i) => i.phase === 'running'), 120_000, 500).catch(explain);
  const identity = JSON.parse(await readFile(join(rig.root, 'agent-0', 'state', 'identity.json'), 'utf8')) as { deviceId: string; password: string };
  await agent!.kill('SIGKILL');
  const before = await retainedDesired(b.brokerUrl, identity);
  t.truthy(before, 'the document is retained before Redis restarts');
  const generation = before?.generation ?? 0;

  // Redis restarts with nothing (it saves nothing): every retained message is gone.
  await redis.stop();
  await redis.start();
  for (const hub of [a, b]) await waitFor(`${hub.apiUrl} healthy again`, async () => (await fetch(`${hub.apiUrl}/healthz`)).status === 200, 30_000, 200).catch(explain);

  const after = await waitFor('the device, connecting to hub B, to be handed its desired document retained', () => retainedDesired(b.brokerUrl, identity), 30_000, 250).catch(explain);
  t.is(after.generation, generation, 'the stored document, not a new generation');
  t.true(after.instances.some((i) => i.workload === 'kept'));
  t.regex(a.proc.output + b.proc.output, /retained messages in Redis are gone/, 'the leader said what it noticed');
});
