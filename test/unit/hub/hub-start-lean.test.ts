// A hub alone (embedded store and broker) loads neither the PostgreSQL nor the Redis client: its
// modules load before its broker listens, on the path of a restart storm (bench/RESULTS.md,
// "reconnect: eighth session"). Checked on the built hub (dist), as `edgepilot hub` runs it.
import test from 'ava';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { repoRoot } from '../../support/paths.js';

const SHARED_ENGINE_PACKAGES = /[\\/]node_modules[\\/](pg|pg-pool|ioredis|mqemitter-redis|aedes-persistence-redis)[\\/]/;

/** The packages of the shared engines that are loaded after importing these built modules. */
async function enginePackagesLoadedBy(modules: string[]): Promise<string[]> {
  const imports = modules.map((m) => `await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', m)).href)});`).join('\n');
  const script = `${imports}
import { createRequire } from 'node:module';
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => ${SHARED_ENGINE_PACKAGES}.test(k));
process.stdout.write(JSON.stringify([...new Set(loaded.map((k) => k.match(${SHARED_ENGINE_PACKAGES})[1]))].sort()));`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot });
  return JSON.parse(stdout) as string[];
}

test('the hub alone imports no PostgreSQL or Redis client', async (t) => {
  t.deepEqual(await enginePackagesLoadedBy(['src/hub/hub-command.js', 'src/hub/run.js', 'src/hub/main.js']), []);
});

test('the PostgreSQL store and the Redis layer, once imported, load their clients (so the check above can fail)', async (t) => {
  t.deepEqual(await enginePackagesLoadedBy(['src/hub/store/postgres/postgres-store.js', 'src/hub/broker/redis-layer.js']), [
    'aedes-persistence-redis',
    'ioredis',
    'mqemitter-redis',
    'pg',
    'pg-pool',
  ]);
});
