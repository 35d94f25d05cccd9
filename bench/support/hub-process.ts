import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface BenchHub {
  apiUrl: string;
  brokerUrl: string;
  adminToken: string;
  /** The hub's --data-dir. */
  dataDir: string;
  child: ChildProcess;
  api<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Everything the hub printed (warnings and errors at the bench's log level). */
  output(): string;
  stop(): Promise<void>;
  /** SIGKILL: no flush, no goodbye; the data dir stays for a restart (startBenchHub with `dir`). */
  kill(): Promise<void>;
}

export interface BenchHubOptions {
  /** Reuse this folder (a restart on the same state); it is then not removed by stop(). */
  dir?: string;
  /** The admin token of a hub that ran on `dir` before (printed only on a first start). */
  adminToken?: string;
  /** Fixed addresses, so devices find a restarted hub where they left it (default: ephemeral ports). */
  listen?: string;
  mqttListen?: string;
}

/** The open-files limit a bench hub asks for (room for 60,000 device connections). */
export const BENCH_OPEN_FILES = 65_536;

/** A real hub in its own process (so its memory is its own), on ephemeral loopback ports. */
export async function startBenchHub(extraArgs: string[] = [], options: BenchHubOptions = {}): Promise<BenchHub> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'ep-bench-')));
  // Registration storms come from one address here: the join path's rate limit would be the bench.
  // BENCH_HUB_PROFILE=<dir> writes a V8 CPU profile of the hub there, to see where time goes;
  // BENCH_HUB_ARGS='--log-level debug' adds flags (the last of a flag given twice counts).
  // BENCH_HUB_NODE_ARGS='--max-semi-space-size=64': Node's own flags for the hub (V8's heap, say).
  const nodeArgs = [...(process.env['BENCH_HUB_PROFILE'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_HUB_PROFILE']] : []), ...(process.env['BENCH_HUB_NODE_ARGS']?.split(' ').filter(Boolean) ?? [])];
  // One open file per device connection: the hub takes devices up to its open-files limit less
  // its own reserve (src/hub/broker/connection-limit.ts). A limit of 20,000 (this machine's) holds
  // 19,488 devices, so the bench hub asks for more, as a deployment does with systemd's
  // LimitNOFILE=. Raising the hard limit needs CAP_SYS_RESOURCE; without it the hub keeps the
  // hard limit, and the fleet bench measures the devices that fit.
  const child = spawn(
    'bash',
    ['-c', `ulimit -n ${BENCH_OPEN_FILES} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"`, 'hub', process.execPath, ...nodeArgs, join(repoRoot, 'bin', 'edgepilot.js'), 'hub', '--data-dir', join(dir, 'hub'), '--listen', options.listen ?? '127.0.0.1:0', '--mqtt-listen', options.mqttListen ?? '127.0.0.1:0', '--no-write-config', '--log-level', 'warn', '--join-rate', 'off', '--insecure', ...extraArgs, ...(process.env['BENCH_HUB_ARGS']?.split(' ').filter(Boolean) ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_CONFIG_HOME: join(dir, 'config') } },
  );
  let output = '';
  // BENCH_HUB_LOG=<file> also writes everything the hub prints there (a run that stalls says why).
  const logFile = process.env['BENCH_HUB_LOG'] ? createWriteStream(process.env['BENCH_HUB_LOG'], { flags: 'a' }) : undefined;
  if (logFile) {
    child.stdout.on('data', (c: Buffer) => logFile.write(c));
    child.stderr.on('data', (c: Buffer) => logFile.write(c));
  }
  const ready = new Promise<{ apiPort: string; adminToken: string }>((resolve, reject) => {
    const check = (): void => {
      const token = options.adminToken ?? /Admin token[^\n]*\n\s+(ep_\S+)/.exec(output)?.[1];
      const port = /hub ready: API http:\/\/[^:]+:(\d+)/.exec(output)?.[1];
      if (token && port) resolve({ apiPort: port, adminToken: token });
    };
    child.stdout.on('data', (c: Buffer) => ((output += c.toString()), check()));
    child.stderr.on('data', (c: Buffer) => ((output += c.toString()), check()));
    child.once('exit', () => reject(new Error(`hub exited:\n${output}`)));
  });
  const { apiPort, adminToken } = await ready;
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const bootstrap = await api<{ brokerUrl: string }>('GET', '/v1/bootstrap');
  return {
    apiUrl,
    brokerUrl: bootstrap.brokerUrl,
    adminToken,
    dataDir: join(dir, 'hub'),
    child,
    api,
    output: () => output,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
      if (!options.dir) await rm(dir, { recursive: true, force: true });
    },
    async kill() {
      child.kill('SIGKILL');
      if (child.exitCode === null && child.signalCode === null) await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
