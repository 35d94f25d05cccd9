// Issue 15's outage must-show with real processes: three hubs on one PostgreSQL cluster of this
// test's own and one Redis, an agent on each. Redis is stopped for 10 s, then PostgreSQL for 10 s.
// Each time every hub says it is degraded and why, refuses writes with the typed error (one CLI
// line, non-zero exit) instead of storing what it cannot deliver or storing nothing at all, and
// recovers by itself; after PostgreSQL exactly one hub leads again. A writer applies throughout,
// through every hub in turn: every acknowledged write is stored, and no write refused while a
// hub was degraded is.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hubViewSchema, listSchema, type InstanceStatus } from '../../src/protocol/index.js';
import type { HubHandle } from '../support/fleet.js';
import { dedicatedCluster } from '../support/postgres.js';
import { hubsSeenBy, startAgentPerHub, startSharedHubs, severalHubsRig } from '../support/several-hubs.js';
import { waitFor } from '../support/wait.js';
import { applyYaml, instancesOf, workloads } from '../support/workloads.js';

const OUTAGE_MS = 10_000;

const workload = (name: string, replicas: number | 'all'): string => `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: ${name} }
spec:
  replicas: ${replicas}
  template: { runtime: process, command: [sleep, "3600"] }
`;

async function healthz(hub: HubHandle): Promise<{ http: number; status: string; reason?: string }> {
  const answer = await fetch(`${hub.apiUrl}/healthz`);
  return { ...((await answer.json()) as { status: string; reason?: string }), http: answer.status };
}

const running = (instances: InstanceStatus[]): InstanceStatus[] => instances.filter((i) => i.phase === 'running');

/** What became of one write of the background writer. */
interface LedgerEntry {
  name: string;
  outcome: 'acknowledged' | 'refused' | 'unknown';
  /** The error code of a refusal (or the status / network error of an unknown outcome). */
  detail: string;
  /** Sent after a hub was seen degraded and answered before the outage ended: must not be stored if refused. */
  insideOutage: boolean;
}

/**
 * Applies a new zero-replica workload every `everyMs`, through each hub in turn, over the API,
 * and records what each answer said; `outage` says whether a steady outage is in progress.
 */
function startWriter(hubs: HubHandle[], everyMs: number, outage: () => boolean): { stop(): Promise<LedgerEntry[]> } {
  const ledger: LedgerEntry[] = [];
  let n = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const hub = hubs[n % hubs.length]!;
      const name = `ledger-${String(n).padStart(4, '0')}`;
      n += 1;
      const steadyAtStart = outage();
      const body = JSON.stringify({ manifests: [{ apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name }, spec: { replicas: 0, template: { runtime: 'process', command: ['sleep', '1'] } } }] });
      let entry: Omit<LedgerEntry, 'insideOutage'>;
      try {
        const answer = await fetch(`${hub.apiUrl}/v1/apply`, { method: 'POST', body, headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' }, signal: AbortSignal.timeout(20_000) });
        const text = await answer.text();
        const code = answer.status === 503 ? ((JSON.parse(text) as { error?: string }).error ?? '') : '';
        if (answer.status === 200) entry = { name, outcome: 'acknowledged', detail: '' };
        else if (code === 'MessagingUnavailable' || code === 'StoreUnavailable' || code === 'StoreBusy') entry = { name, outcome: 'refused', detail: code };
        else entry = { name, outcome: 'unknown', detail: `${answer.status} ${text.slice(0, 200)}` };
      } catch (err) {
        entry = { name, outcome: 'unknown', detail: (err as Error).message };
      }
      ledger.push({ ...entry, insideOutage: steadyAtStart && outage() });
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return ledger;
    },
  };
}

test('Redis, then PostgreSQL, stopped for 10 s under three hubs: degraded with the reason, writes refused not lost, recovery by themselves', async (t) => {
  t.timeout(600_000);
  let cluster: Awaited<ReturnType<typeof dedicatedCluster>> | undefined;
  const rig = await severalHubsRig(t, 'ep-hubs-outages-', { store: async (root) => (cluster = await dedicatedCluster(t, root)).url });
  if (!cluster) throw new Error('no dedicated PostgreSQL cluster');
  const postgres = cluster;
  const { redis, procs } = rig;
  const hubs = await startSharedHubs({ ...rig, ids: ['hub-a', 'hub-b', 'hub-c'] });
  const [a, b, c] = hubs as [HubHandle, HubHandle, HubHandle];
  const agents = await startAgentPerHub(hubs, { root: rig.root, boardPrefix: 'outage-board', procs });
  const explain = async (err: unknown): Promise<never> => {
    for (const hub of hubs) if (!hub.proc.running) t.log(`--- ${hub.apiUrl} exited: ${JSON.stringify(await hub.proc.exited)}`);
    for (const hub of hubs) t.log(`--- ${hub.apiUrl} healthz ${JSON.stringify(await healthz(hub).catch((e: unknown) => String(e)))}`);
    for (const [i, agent] of agents.entries()) t.log(`--- agent ${i}\n${agent.output.slice(-2500)}`);
    for (const hub of hubs) t.log(`--- hub ${hub.apiUrl}\n${hub.proc.output.slice(-2500)}`);
    throw err;
  };
  const runningEverywhere = (name: string, asked: HubHandle): Promise<InstanceStatus[]> =>
    waitFor(`${name} running on all three devices, as ${asked.apiUrl} sees it`, async () => {
      const instances = running(await instancesOf(asked, name));
      return instances.length === 3 ? instances : undefined;
    }, 120_000, 500).catch(async (err: unknown) => {
      t.log(`${name} as ${asked.apiUrl} sees it: ${JSON.stringify(await instancesOf(asked, name).catch((e: unknown) => String(e)))}`);
      t.log(`devices: ${JSON.stringify((await asked.devices().catch(() => [])).map((d) => [d.id, d.state]))}`);
      return explain(err);
    });

  await waitFor('three devices online', async () => {
    const found = await a.devices();
    return found.length === 3 && found.every((d) => d.state === 'online') ? found : undefined;
  }, 180_000, 500).catch(explain);
  await applyYaml(a, rig.root, 'before.yaml', workload('before', 'all'));
  await runningEverywhere('before', c);

  let steadyOutage = false;
  const writer = startWriter(hubs, 200, () => steadyOutage);
  t.teardown(async () => void (await writer.stop()));

  // --- Redis stopped for 10 s.
  const redisStopped = Date.now();
  await redis.stop();
  for (const hub of hubs) {
    const health = await waitFor(`${hub.apiUrl} degraded (Redis)`, async () => {
      const h = await healthz(hub);
      return h.http === 503 ? h : undefined;
    }).catch(explain);
    t.is(health.status, 'degraded');
    t.regex(health.reason ?? '', /redis/i, 'the reason names Redis');
  }
  steadyOutage = true;
  for (const [i, hub] of hubs.entries()) {
    const refused = await hub.cli(['apply', '-f', await writeManifest(rig.root, `during-redis-${i}`)]);
    t.not(refused.code, 0, `an apply through hub ${i} while Redis is down is refused`);
    t.is(refused.stderr.trim().split('\n').length, 1, `one line: ${refused.stderr}`);
    t.regex(refused.stderr, /cannot reach devices now \(redis unreachable/);
  }
  const seenDuringRedis = await b.cli(['get', 'hubs', '-o', 'json']);
  if (seenDuringRedis.code !== 0) await explain(new Error(`get hubs during the Redis outage: ${seenDuringRedis.stderr}`));
  const selfDuringRedis = listSchema(hubViewSchema).parse(JSON.parse(seenDuringRedis.stdout)).items[0];
  t.is(selfDuringRedis?.state, 'degraded', '`get hubs` shows it');
  t.regex(selfDuringRedis?.reason ?? '', /redis/i);
  t.is((await workloads(c)).length > 0, true, 'reads still answer');
  await new Promise((r) => setTimeout(r, Math.max(0, redisStopped + OUTAGE_MS - Date.now())));
  steadyOutage = false;
  await redis.start();
  for (const hub of hubs) await waitFor(`${hub.apiUrl} healthy again after Redis`, async () => (await healthz(hub)).http === 200, 30_000, 200).catch(explain);
  await waitFor('every hub to list all three again', async () => {
    const views = await Promise.all(hubs.map((h) => hubsSeenBy(h)));
    return views.every((v) => v.length === 3 && v.every((h) => h.state === 'ok'));
  }, 30_000, 250).catch(explain);
  await applyYaml(b, rig.root, 'after-redis.yaml', workload('after-redis', 'all'));
  await runningEverywhere('after-redis', a);

  // --- PostgreSQL stopped for 10 s.
  const pgStopped = Date.now();
  await postgres.stop();
  for (const hub of hubs) {
    const health = await waitFor(`${hub.apiUrl} degraded (PostgreSQL)`, async () => {
      const h = await healthz(hub);
      return h.http === 503 ? h : undefined;
    }).catch(explain);
    t.is(health.status, 'degraded');
    t.regex(health.reason ?? '', /the store \(PostgreSQL at 127\.0\.0\.1:\d+\) is unavailable/, 'the reason names PostgreSQL');
  }
  steadyOutage = true;
  for (const [i, hub] of hubs.entries()) {
    const refused = await hub.cli(['apply', '-f', await writeManifest(rig.root, `during-pg-${i}`)]);
    t.not(refused.code, 0, `an apply through hub ${i} while PostgreSQL is down is refused`);
    t.is(refused.stderr.trim().split('\n').length, 1, `one line: ${refused.stderr}`);
    t.regex(refused.stderr, /the store \(PostgreSQL at 127\.0\.0\.1:\d+\) is unavailable/);
  }
  // Reads say what they can: the hub list (from Redis) answers, every hub in it degraded with the
  // reason and none leading (a hub that cannot renew the lease stops its controllers at once);
  // what lives in the store says why it cannot be read.
  await waitFor('`get hubs` to show all three degraded (PostgreSQL), none leading', async () => {
    const views = await hubsSeenBy(c);
    return views.length === 3 && views.every((h) => h.state === 'degraded' && /PostgreSQL/.test(h.reason ?? '') && !h.leading);
  }, 20_000, 250).catch(async (err: unknown) => {
    t.log(JSON.stringify(await hubsSeenBy(c)));
    throw err;
  });
  const seenDuringPg = await c.cli(['get', 'hubs']);
  if (seenDuringPg.code !== 0) await explain(new Error(`get hubs during the PostgreSQL outage: ${seenDuringPg.stderr}`));
  t.regex(seenDuringPg.stdout, /hub-a\s.*Degraded: the store \(PostgreSQL at/);
  const unreadable = await c.cli(['get', 'workloads']);
  t.not(unreadable.code, 0);
  t.is(unreadable.stderr.trim().split('\n').length, 1, `one line: ${unreadable.stderr}`);
  t.regex(unreadable.stderr, /PostgreSQL at 127\.0\.0\.1:\d+\) is unavailable/);
  await new Promise((r) => setTimeout(r, Math.max(0, pgStopped + OUTAGE_MS - Date.now())));
  steadyOutage = false;
  await postgres.start();
  for (const hub of hubs) await waitFor(`${hub.apiUrl} healthy again after PostgreSQL`, async () => (await healthz(hub)).http === 200, 60_000, 200).catch(explain);
  const leaders = await waitFor('exactly one hub to lead again, as every hub sees it', async () => {
    const views = await Promise.all(hubs.map((h) => hubsSeenBy(h)));
    const leading = views.map((v) => v.filter((h) => h.leading).map((h) => h.id).join(','));
    return views.every((v) => v.length === 3) && leading.every((l) => l === leading[0] && l !== '' && !l.includes(',')) ? leading[0] : undefined;
  }, 60_000, 250).catch(explain);
  t.log(`leading after both outages: ${leaders}`);
  await applyYaml(c, rig.root, 'after-pg.yaml', workload('after-pg', 'all'));
  await runningEverywhere('after-pg', b);
  const ledger = await writer.stop();

  // What was acknowledged before and after the outages is there and converged; nothing twice.
  t.is(running(await instancesOf(a, 'before')).length, 3, 'the workload applied before the outages still runs on all three');
  t.is((await instancesOf(a, 'after-redis')).length, 3);
  const stored = new Set((await workloads(a)).map((w) => w.name));
  for (const name of ['during-redis-0', 'during-redis-1', 'during-redis-2', 'during-pg-0', 'during-pg-1', 'during-pg-2']) t.false(stored.has(name), `${name} was refused and is not stored`);
  const acknowledged = ledger.filter((e) => e.outcome === 'acknowledged');
  const lost = acknowledged.filter((e) => !stored.has(e.name));
  const refusedYetStored = ledger.filter((e) => e.outcome === 'refused' && e.insideOutage && stored.has(e.name));
  const refusals = new Set(ledger.filter((e) => e.outcome === 'refused').map((e) => e.detail));
  t.log(`writer: ${ledger.length} applies, ${acknowledged.length} acknowledged, ${ledger.filter((e) => e.outcome === 'refused').length} refused (${[...refusals].join(', ')}), ${ledger.filter((e) => e.outcome === 'unknown').length} unknown; ${[...stored].filter((n) => n.startsWith('ledger-')).length} stored`);
  for (const e of ledger.filter((x) => x.outcome === 'unknown')) t.log(`unknown outcome: ${e.name} ${e.detail}`);
  t.deepEqual(lost.map((e) => e.name), [], 'every acknowledged apply is stored');
  t.deepEqual(refusedYetStored.map((e) => e.name), [], 'no apply refused during an outage is stored');
  t.true(refusals.has('MessagingUnavailable') && refusals.has('StoreUnavailable'), 'the writer met both outages');
  const lastRefused = ledger.findLastIndex((e) => e.outcome === 'refused');
  t.true(ledger.slice(lastRefused + 1).some((e) => e.outcome === 'acknowledged'), 'writes are acknowledged again after the outages');
});

async function writeManifest(dir: string, name: string): Promise<string> {
  const path = join(dir, `${name}.yaml`);
  await writeFile(path, workload(name, 1));
  return path;
}
