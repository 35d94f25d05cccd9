// Schema migrations of the PostgreSQL store: every `NNN-name.sql` in ./migrations, applied in
// order, each in its own transaction with its version recorded, under an advisory lock so that
// hubs starting together migrate once (the others wait, then find nothing left to do).
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Pool, PoolClient } from 'pg';
import { errorMessage } from '../../../common/errors.js';

/** Shipped next to the compiled module by `npm run build` (scripts/build.mjs copies the folder). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
/** Any constant both hubs agree on; "ep" "mi" in ASCII. */
const MIGRATION_LOCK = 0x6570_6d69;
const FILE_NAME = /^(\d{3,})-[a-z0-9-]+\.sql$/;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export class MigrationError extends Error {
  readonly code = 'MigrationFailed';
}

/** The migrations in `dir`, by version; a file that is not `NNN-name.sql` or a repeated number is refused. */
export async function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  const out: Migration[] = [];
  for (const name of names) {
    const match = FILE_NAME.exec(name);
    if (!match) throw new MigrationError(`${dir}${name}: a migration is named NNN-name.sql (lower case, digits, dashes)`);
    const version = Number(match[1]);
    if (out.some((m) => m.version === version)) throw new MigrationError(`${dir}${name}: migration ${version} exists twice`);
    out.push({ version, name, sql: await readFile(`${dir}${name}`, 'utf8') });
  }
  return out.sort((a, b) => a.version - b.version);
}

/** Applies what is missing; resolves to the names applied now. */
export async function migrate(pool: Pool, migrations: readonly Migration[]): Promise<string[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      return await applyMissing(client, migrations);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}

async function applyMissing(client: PoolClient, migrations: readonly Migration[]): Promise<string[]> {
  await client.query(`CREATE TABLE IF NOT EXISTS ep_schema_migrations (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const done = new Set((await client.query<{ version: number }>('SELECT version FROM ep_schema_migrations')).rows.map((r) => r.version));
  const newest = Math.max(0, ...done);
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (newest > known) throw new MigrationError(`the database was migrated by a newer edgepilot (migration ${newest}); this hub knows up to ${known}`);
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    await client.query('BEGIN');
    try {
      await client.query(m.sql);
      await client.query('INSERT INTO ep_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw new MigrationError(`migration ${m.name} failed: ${errorMessage(err)}`);
    }
    applied.push(m.name);
  }
  return applied;
}
