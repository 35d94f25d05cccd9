// `npm run bench -- api [--writers 1,10,150,1000] [--devices 0,5000]`: the API's write path under
// concurrency. N writers each apply one distinct small process workload at the same moment;
// the numbers are applies/s, p50/p99 answer time and fsyncs per request, next to a baseline in
// the same run: the same number of sequential single durable writes of a file the size of the
// hub's store, i.e. what one fsync'd write per request would cost on this disk right now.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFileDurably } from '../src/common/durable-file.js';
import { storm } from './registration.js';
import { startBenchHub, type BenchHub } from './support/hub-process.js';
import { cpuSeconds } from './support/proc.js';

type Stats = { devices: number; online: number; fsyncs: number };

interface Round {
  writers: number;
  seconds: number;
  latencies: number[];
  fsyncs: number;
  /** CPU seconds of the hub process and of this (client) process during the round. */
  hubCpu: number;
  clientCpu: number;
  failures: string[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function manifest(name: string): unknown {
  return {
    apiVersion: 'edgepilot.io/v1',
    kind: 'Workload',
    metadata: { name },
    // Small requests, so that the scheduler spreads them over a fleet (least allocated first)
    // instead of stacking every workload on the same device.
    spec: { replicas: 1, template: { runtime: 'process', command: ['sh', '-c', 'exec sleep 100000'], resources: { requests: { cpu: '10m', memory: '8Mi' } } } },
  };
}

/**
 * The writers' HTTP client: node:http with kept-alive connections, which costs this process
 * less CPU per request than fetch (the client shares the machine's two cores with the hub).
 */
const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

function apply(hub: BenchHub, body: unknown): Promise<void> {
  const payload = JSON.stringify(body);
  const url = new URL('/v1/apply', hub.apiUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { agent, host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`apply: ${res.statusCode ?? '?'} ${text}`))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * N writers at once, each applying one workload after another until `total` are applied (so a
 * lone writer is measured over many requests too); every apply is timed from send to answer.
 */
async function round(hub: BenchHub, writers: number, total: number, prefix: string): Promise<Round> {
  const before = await hub.api<Stats>('GET', '/v1/stats');
  const latencies: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const hubCpuBefore = cpuSeconds(hub.child.pid ?? 0);
  const clientBefore = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (next < total) {
        const i = next++;
        const sent = performance.now();
        try {
          await apply(hub, { manifests: [manifest(`${prefix}-${i}`)] });
          latencies.push(performance.now() - sent);
        } catch (err) {
          failures.push((err as Error).message.slice(0, 200));
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const hubCpu = cpuSeconds(hub.child.pid ?? 0) - hubCpuBefore;
  const client = process.cpuUsage(clientBefore);
  const after = await hub.api<Stats>('GET', '/v1/stats');
  return { writers, seconds, latencies: latencies.sort((a, b) => a - b), fsyncs: after.fsyncs - before.fsyncs, hubCpu, clientCpu: (client.user + client.system) / 1e6, failures };
}

/** The same number of sequential single durable writes (2 fsyncs each) of a store-sized file. */
async function baseline(writes: number, bytes: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-bench-api-base-'));
  const contents = 'x'.repeat(bytes);
  const start = performance.now();
  for (let i = 0; i < writes; i++) await writeFileDurably(join(dir, 'store.json'), contents);
  const seconds = (performance.now() - start) / 1000;
  await rm(dir, { recursive: true, force: true });
  return seconds;
}

const fmt = (ms: number): string => (Number.isNaN(ms) ? 'n/a' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

/** A connected simulated fleet (the registration bench's workers); `stop` disconnects it. */
async function fleetOf(hub: BenchHub, devices: number): Promise<{ stop(): Promise<void> }> {
  if (devices === 0) return { stop: async () => undefined };
  const created = await hub.api<{ token: string }>('POST', '/v1/tokens', { ttlSeconds: 3600, maxUses: devices, description: 'bench api' });
  const workers = Math.max(2, Math.ceil(devices / 2500));
  console.log(`registering ${devices} simulated devices over ${workers} worker processes…`);
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let connected!: () => void;
  const ready = new Promise<void>((r) => (connected = r));
  // `storm` keeps its workers (and so the devices) alive until its at-peak callback returns.
  const finished = storm('register', hub.brokerUrl, created.token, devices, workers, 250, async () => (await hub.api<Stats>('GET', '/v1/stats')).online >= devices, async () => {
    connected();
    await held;
  });
  await Promise.race([ready, finished]);
  return {
    stop: async () => {
      release();
      await finished;
    },
  };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      writers: { type: 'string', default: '1,10,150,1000' },
      devices: { type: 'string', default: '0,5000' },
      /** Applies per round, at least one per writer. */
      applies: { type: 'string', default: '300' },
    },
  });
  const writerCounts = values.writers.split(',').map(Number);
  const fleets = values.devices.split(',').map(Number);
  console.log('API write path: N concurrent writers, one distinct process workload each\n');
  for (const devices of fleets) {
    const hub = await startBenchHub();
    const fleet = await fleetOf(hub, devices);
    // Warm up the hub's code paths and connections (a cold hub answers several times slower:
    // its code is not optimized yet, and each writer's first request opens a connection).
    await round(hub, 150, 600, `bench-d${devices}-warm`);
    const rows: string[] = [];
    for (const [index, writers] of writerCounts.entries()) {
      const total = Math.max(writers, Number(values.applies));
      const r = await round(hub, writers, total, `bench-d${devices}-r${index}-w${writers}`);
      const storeBytes = (await stat(join(hub.dataDir, 'store.json')).catch(() => ({ size: 1024 }))).size;
      const base = await baseline(total, storeBytes);
      const applied = r.latencies.length;
      const rate = applied / r.seconds;
      const baseRate = total / base;
      rows.push(
        [
          `${String(devices).padStart(5)} devices, ${String(writers).padStart(4)} writers, ${total} applies`,
          `${rate.toFixed(0).padStart(5)} applies/s`,
          `p50 ${fmt(percentile(r.latencies, 50)).padStart(8)}`,
          `p99 ${fmt(percentile(r.latencies, 99)).padStart(8)}`,
          `${(r.fsyncs / total).toFixed(2)} fsyncs/request`,
          `CPU/apply hub ${((r.hubCpu / total) * 1000).toFixed(2)} ms, client ${((r.clientCpu / total) * 1000).toFixed(2)} ms`,
          `baseline ${baseRate.toFixed(0)} sequential durable writes/s of ${(storeBytes / 1024).toFixed(0)} KB`,
          `ratio ${(rate / baseRate).toFixed(2)}×`,
          ...(r.failures.length ? [`${r.failures.length} failed: ${r.failures[0]}`] : []),
        ].join(' | '),
      );
      console.log(rows.at(-1));
    }
    await fleet.stop();
    const warnings = hub.output().split('\n').filter((l) => / (WARN|ERROR) /.test(l));
    await hub.stop();
    if (warnings.length > 0) console.log(`hub warnings (${warnings.length}, first 3):\n  ${warnings.slice(0, 3).join('\n  ')}`);
  }
  agent.destroy();
  console.log('\ngoal: ≥ 500 applies/s with 150 concurrent writers and no devices, ≥ 200/s with 5,000 devices (2 cores)');
}
