// The tests' PostgreSQL: the cluster scripts/start-postgres.sh runs (its URL in
// EDGEPILOT_TEST_POSTGRES, or started here when unset), and a fresh database per test, so the
// PostgreSQL tests run in parallel without seeing each other's records. Never skipped: a missing
// PostgreSQL fails the test, naming the script that sets it up.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { ExecutionContext } from 'ava';
import { repoRoot } from './paths.js';
import { freePort } from './mosquitto.js';

let started: Promise<string> | undefined;

/** The URL of the test cluster's `edgepilot` database (the role may create databases). */
export function testPostgresUrl(): Promise<string> {
  const fromEnv = process.env['EDGEPILOT_TEST_POSTGRES'];
  if (fromEnv) return Promise.resolve(fromEnv);
  started ??= promisify(execFile)('bash', [join(repoRoot, 'scripts/start-postgres.sh')], { timeout: 60_000 }).then(
    ({ stdout }) => stdout.trim().split('\n').at(-1) ?? '',
    (err: unknown) => {
      throw new Error(`PostgreSQL for the tests did not start (scripts/start-postgres.sh; scripts/test.sh installs postgresql): ${(err as Error).message}`);
    },
  );
  return started;
}

/** A new, empty database for one test, dropped at its teardown; resolves to its URL. */
export async function freshDatabase(t: ExecutionContext): Promise<string> {
  const url = await testPostgresUrl();
  const name = `ep_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  t.teardown(async () => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await client.end();
    }
  });
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/**
 * A PostgreSQL cluster of one test's own (for stopping and starting it under a running hub),
 * made by the same script as the shared one, in a temporary folder on a free port.
 */
export async function dedicatedCluster(t: ExecutionContext, dir: string): Promise<{ url: string; stop(): Promise<void>; start(): Promise<void> }> {
  const port = await freePort();
  // The server runs as the `postgres` user, which must reach its folders inside the test's own.
  await chmod(dir, 0o755);
  const env = { ...process.env, EDGEPILOT_PG_PORT: String(port), EDGEPILOT_PG_DATA: join(dir, 'pgdata'), EDGEPILOT_PG_RUN: join(dir, 'pgrun'), EDGEPILOT_PG_LOG: join(dir, 'pg.log') };
  const script = join(repoRoot, 'scripts/start-postgres.sh');
  const start = async (): Promise<string> => {
    const { stdout } = await promisify(execFile)('bash', [script], { env, timeout: 60_000 });
    return stdout.trim().split('\n').at(-1) ?? '';
  };
  const stop = async (): Promise<void> => {
    const bin = (await promisify(execFile)('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'])).stdout.trim();
    const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
    const [command, ...args] = [...asPostgres, join(bin, 'pg_ctl'), '-D', env.EDGEPILOT_PG_DATA, '-m', 'immediate', '-w', 'stop'];
    await promisify(execFile)(command ?? '', args, { timeout: 30_000 });
  };
  const url = await start();
  t.teardown(() => stop().catch(() => undefined));
  return { url, stop, start: async () => void (await start()) };
}

/**
 * A Secret key file for hubs that share a store: they must all use the same key (a hub with
 * another one refuses to start), so tests give every hub this file with --secret-key-file.
 */
export async function sharedSecretKeyFile(dir: string): Promise<string[]> {
  const { mkdir, writeFile } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'shared-secrets.key');
  await writeFile(path, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return ['--secret-key-file', path];
}
