import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freePort } from './mosquitto.js';
import { ManagedProcess } from './processes.js';

/** EDGEPILOT_TEST_REDIS names the binary (scripts/test.sh installs Debian's redis-server). */
const REDIS_SERVER = [process.env['EDGEPILOT_TEST_REDIS'], '/usr/bin/redis-server', '/usr/sbin/redis-server', '/usr/local/bin/redis-server'].find((p) => p !== undefined && p !== '' && existsSync(p));

export interface TestRedis {
  url: string;
  port: number;
  /** Stops it (SIGKILL: like a crash, nothing saved). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: it saves nothing). */
  start(): Promise<void>;
}

/**
 * A Redis of the test's own, on loopback, saving nothing: tests that run in parallel never see
 * each other's keys, and a test may stop and start it (Redis down). Fails loudly without Redis.
 */
export async function startTestRedis(): Promise<TestRedis> {
  if (!REDIS_SERVER) throw new Error('redis-server is not installed: run `npm test` (scripts/test.sh installs it) or apt-get install redis-server');
  let port = await freePort();
  let proc: ManagedProcess | undefined;
  // Its own line, not a TCP connect: another process that took the port between freePort() and
  // redis-server's bind would accept a connect too (the server itself then exits: port in use).
  const start = async (): Promise<void> => {
    proc = new ManagedProcess('redis', spawn(REDIS_SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', '/tmp'], { stdio: ['ignore', 'pipe', 'pipe'] }));
    await proc.waitForOutput(/Ready to accept connections/, 10_000);
  };
  // The first start may lose its port to another process (a freePort race): another port then.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (err) {
      await proc?.kill('SIGKILL');
      if (attempt >= 3) throw err;
      port = await freePort();
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      await proc?.kill('SIGKILL');
      proc = undefined;
    },
    start,
  };
}
