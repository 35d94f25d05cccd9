// The tests' PostgreSQL: the cluster scripts/start-postgres.sh runs (its URL in
// EDGEPILOT_TEST_POSTGRES, or started here when unset), and a fresh database per test, so the
// PostgreSQL tests run in parallel without seeing each other's records. Never skipped: a missing
// PostgreSQL fails the test, naming the script that sets it up.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { ExecutionContext } from 'ava';
import { repoRoot } from './paths.js';

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
