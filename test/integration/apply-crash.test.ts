import test from 'ava';
import { join } from 'node:path';
import { startHubProcess, type HubHandle } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import { prng } from '../support/prng.js';

const ROUNDS = 20;
const WRITERS = 16;
/** Each apply carries this many workloads: all of them exist after a crash, or none. */
const PER_APPLY = 3;

/** PER_APPLY workloads and one ConfigMap (issue 14: ConfigMaps are in the same write). */
function manifests(request: string): unknown[] {
  return [
    ...Array.from({ length: PER_APPLY }, (_, k) => ({
      apiVersion: 'edgepilot.io/v1',
      kind: 'Workload',
      metadata: { name: `${request}-${k}`, labels: { request } },
      spec: { replicas: 1, template: { runtime: 'process', command: ['sleep', '1000'] } },
    })),
    { apiVersion: 'edgepilot.io/v1', kind: 'ConfigMap', metadata: { name: `${request}-cm` }, data: { request } },
  ];
}

/**
 * Writers apply one request after another until the hub is gone; answers that came back 200
 * are acknowledged. Every request id that was sent is returned, acknowledged or not.
 */
async function burstUntilKilled(hub: HubHandle, round: number, killAfterMs: number): Promise<{ sent: string[]; acknowledged: string[] }> {
  const sent: string[] = [];
  const acknowledged: string[] = [];
  let next = 0;
  let killed = false;
  const writer = async (): Promise<void> => {
    while (!killed) {
      const request = `r${round}-q${next++}`;
      sent.push(request);
      try {
        const response = await fetch(`${hub.apiUrl}/v1/apply`, {
          method: 'POST',
          headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ manifests: manifests(request) }),
        });
        if (response.status === 200) acknowledged.push(request);
        else throw new Error(`apply ${request}: ${response.status} ${await response.text()}`);
      } catch (err) {
        if (!killed) throw err;
        return;
      }
    }
  };
  const writers = Array.from({ length: WRITERS }, writer);
  await new Promise((r) => setTimeout(r, killAfterMs));
  killed = true;
  await hub.proc.kill('SIGKILL');
  await Promise.all(writers);
  return { sent, acknowledged };
}

/** Workloads and ConfigMaps by name. */
async function storedNames(hub: HubHandle): Promise<Set<string>> {
  const names = new Set<string>();
  for (const path of ['/v1/workloads', '/v1/configmaps']) {
    const response = await fetch(`${hub.apiUrl}${path}`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
    const body = (await response.json()) as { items: { name: string }[] };
    for (const item of body.items) names.add(item.name);
  }
  return names;
}

const objectNames = (request: string): string[] => [...Array.from({ length: PER_APPLY }, (_, k) => `${request}-${k}`), `${request}-cm`];

test('a hub SIGKILLed at random moments of concurrent apply bursts keeps every acknowledged apply (workloads and a ConfigMap), and none half-applied', async (t) => {
  const tmp = await makeTempDir('ep-apply-crash-');
  const dataDir = join(tmp.path, 'hub');
  let hub = await startHubProcess({ root: tmp.path, dataDir });
  const adminToken = hub.adminToken;
  t.teardown(async () => {
    await hub.proc.kill('SIGKILL');
    await tmp.remove();
  });
  const random = prng(17);
  const acknowledged = new Set<string>();
  const sent = new Set<string>();
  let inFlightAtKill = 0;
  for (let round = 0; round < ROUNDS; round++) {
    // Kills land anywhere from the first requests to well into the burst.
    const burst = await burstUntilKilled(hub, round, 20 + Math.floor(random() * 400));
    for (const r of burst.sent) sent.add(r);
    for (const r of burst.acknowledged) acknowledged.add(r);
    inFlightAtKill += burst.sent.length - burst.acknowledged.length;

    hub = await startHubProcess({ root: tmp.path, dataDir, adminToken });
    const names = await storedNames(hub);
    for (const request of acknowledged) {
      const missing = objectNames(request).filter((n) => !names.has(n));
      t.deepEqual(missing, [], `round ${round}: acknowledged apply ${request} lost objects`);
    }
    for (const request of sent) {
      const present = objectNames(request).filter((n) => names.has(n));
      if (present.length !== 0 && present.length !== PER_APPLY + 1) t.fail(`round ${round}: apply ${request} is half-applied (only ${present.join(', ')})`);
    }
  }
  t.log(`${sent.size} applies sent over ${ROUNDS} kills, ${acknowledged.size} acknowledged, ${inFlightAtKill} in flight at a kill`);
  t.true(acknowledged.size > 0, 'some applies were acknowledged');
  // Every round's kill came while writers were waiting for answers (they never stop before it).
  t.true(inFlightAtKill >= ROUNDS, `requests in flight at the kills: ${inFlightAtKill}`);
});
