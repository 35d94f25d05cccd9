// Hub processes sharing one store (PostgreSQL) and one Redis, as issue 15's tests run them: one
// Secret key file for all (a hub with another key refuses to start), the first hub's admin token
// for the others (its hash is in the shared store), and one agent bootstrapped from each hub.
import type { ExecutionContext } from 'ava';
import { join } from 'node:path';
import { hubViewSchema, listSchema, type HubView } from '../../src/protocol/index.js';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from './fleet.js';
import { makeTempDir } from './paths.js';
import { freshDatabase, sharedSecretKeyFile } from './postgres.js';
import type { ManagedProcess } from './processes.js';
import { startTestRedis, type TestRedis } from './redis.js';

/** What several-hubs tests run on: a folder, a store, a Redis, and the processes the teardown kills. */
export interface SeveralHubsRig {
  root: string;
  /** The store's postgres:// URL. */
  store: string;
  redis: TestRedis;
  redisUrl: string;
  procs: ManagedProcess[];
}

/**
 * A temp folder, a fresh database (or `options.store`, e.g. a dedicated cluster in `root`), a
 * Redis, and a teardown that SIGKILLs every process in `procs`, runs `options.cleanup`, stops
 * Redis and removes the folder.
 */
export async function severalHubsRig(t: ExecutionContext, prefix: string, options: { store?: (root: string) => Promise<string>; cleanup?: () => void } = {}): Promise<SeveralHubsRig> {
  const tmp = await makeTempDir(prefix);
  const store = options.store ? await options.store(tmp.path) : await freshDatabase(t);
  const redis = await startTestRedis();
  const procs: ManagedProcess[] = [];
  t.teardown(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    options.cleanup?.();
    await redis.stop();
    await tmp.remove();
  });
  return { root: tmp.path, store, redis, redisUrl: redis.url, procs };
}

/** Hubs named `ids`, started one after another under `root/<letter>`; their processes go to `procs`. */
export async function startSharedHubs(options: { root: string; store: string; redisUrl: string; ids: readonly string[]; procs: ManagedProcess[] }): Promise<HubHandle[]> {
  const key = await sharedSecretKeyFile(options.root);
  const hubs: HubHandle[] = [];
  for (const id of options.ids) {
    const dir = join(options.root, id.replace(/^hub-/, ''));
    const first = hubs[0];
    const hub = await startHubProcess({ root: dir, dataDir: join(dir, 'hub'), extraArgs: ['--store', options.store, '--redis', options.redisUrl, '--hub-id', id, ...key], ...(first ? { adminToken: first.adminToken } : {}) });
    options.procs.push(hub.proc);
    hubs.push(hub);
  }
  return hubs;
}

/** One agent per hub, each bootstrapped from its own hub (which lists itself first), on one join token. */
export async function startAgentPerHub(hubs: readonly HubHandle[], options: { root: string; boardPrefix: string; procs: ManagedProcess[] }): Promise<ManagedProcess[]> {
  const [first] = hubs;
  if (!first) return [];
  const token = await createJoinToken(first, ['--max-uses', String(hubs.length)]);
  return hubs.map((hub, i) => {
    const proc = startAgentProcess({ name: `agent-${i}`, root: join(options.root, `agent-${i}`), hubUrl: hub.apiUrl, joinToken: token, stateDir: join(options.root, `agent-${i}`, 'state'), hardwareId: `${options.boardPrefix}-${i}` });
    options.procs.push(proc);
    return proc;
  });
}

/** The hub list as `hub` answers it (GET /v1/hubs, with its admin token). */
export async function hubsSeenBy(hub: HubHandle): Promise<HubView[]> {
  const answer = await fetch(`${hub.apiUrl}/v1/hubs`, { headers: { authorization: `Bearer ${hub.adminToken}` } });
  if (!answer.ok) throw new Error(`GET /v1/hubs at ${hub.apiUrl}: ${answer.status}`);
  return listSchema(hubViewSchema).parse(await answer.json()).items;
}
