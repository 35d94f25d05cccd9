// The engines several hubs share (issue 15), started for one bench run as processes of its own
// (not the tests' shared cluster), so their CPU and storage are this run's alone: a PostgreSQL
// cluster made by scripts/start-postgres.sh in a temporary folder, and a Redis saving nothing.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { repoRoot } from './hub-process.js';
import { freePort } from './ports.js';

const run = promisify(execFile);

export interface BenchPostgres {
  url: string;
  /** The postmaster: its backends are its children (see treeCpuSeconds). */
  pid: number;
  /** Bytes of the database on disk (pg_database_size). */
  size(): Promise<number>;
  stop(): Promise<void>;
}

/** A PostgreSQL cluster of this run's own, on a free loopback port, removed by stop(). */
export async function startBenchPostgres(): Promise<BenchPostgres> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-bench-pg-'));
  // The server runs as Debian's `postgres` user, which must reach its folders in ours.
  await chmod(dir, 0o755);
  const data = join(dir, 'pgdata');
  const env = { ...process.env, EDGEPILOT_PG_PORT: String(await freePort()), EDGEPILOT_PG_DATA: data, EDGEPILOT_PG_RUN: join(dir, 'pgrun'), EDGEPILOT_PG_LOG: join(dir, 'pg.log') };
  const { stdout } = await run('bash', [join(repoRoot, 'scripts/start-postgres.sh')], { env, timeout: 120_000 }).catch((err: unknown) => {
    throw new Error(`PostgreSQL for the bench did not start (scripts/start-postgres.sh; apt-get install postgresql): ${(err as Error).message}`);
  });
  const url = stdout.trim().split('\n').at(-1) ?? '';
  const pid = Number((await readFile(join(data, 'postmaster.pid'), 'utf8')).split('\n')[0]);
  return {
    url,
    pid,
    async size() {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        const { rows } = await client.query<{ size: string }>('SELECT pg_database_size(current_database())::text AS size');
        return Number(rows[0]?.size ?? 0);
      } finally {
        await client.end();
      }
    },
    async stop() {
      const bin = (await run('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1'])).stdout.trim();
      const asPostgres = process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--'] : [];
      const [command, ...args] = [...asPostgres, join(bin, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop'];
      await run(command ?? '', args, { timeout: 60_000 }).catch(() => undefined);
      // BENCH_PG_LOG=<file> keeps the server's log (deadlocks are logged there with both statements).
      const keep = process.env['BENCH_PG_LOG'];
      if (keep) await copyFile(join(dir, 'pg.log'), keep).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface BenchRedis {
  url: string;
  pid: number;
  /** Bytes Redis holds for its data (INFO memory: used_memory). */
  usedMemory(): Promise<number>;
  stop(): Promise<void>;
}

const REDIS_SERVER = ['/usr/bin/redis-server', '/usr/sbin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));

/** A Redis of this run's own on a free loopback port, saving nothing. */
export async function startBenchRedis(): Promise<BenchRedis> {
  if (!REDIS_SERVER) throw new Error('redis-server is not installed (apt-get install redis-server)');
  const port = await freePort();
  const child: ChildProcess = spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()], { stdio: 'ignore' });
  for (let tries = 0; ; tries++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    if (tries > 100) throw new Error(`redis-server did not accept connections on ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = `redis://127.0.0.1:${port}`;
  return {
    url,
    pid: child.pid ?? 0,
    async usedMemory() {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await client.connect();
        return Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1] ?? 0);
      } finally {
        client.disconnect();
      }
    },
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null && child.signalCode === null) await new Promise((r) => child.once('exit', r));
    },
  };
}
