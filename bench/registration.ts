// `npm run bench -- registration --devices 2000`: a registration storm against a real hub;
// `--hubs 3 --store postgres`: the same across several hubs vs this one (registration-hubs.ts).
import { Aedes } from 'aedes';
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { WorkerJob, WorkerReport } from './fleet-worker.js';
import { repoRoot, startBenchHub } from './support/hub-process.js';
import { cpuSeconds, mb, rssBytes } from './support/proc.js';
import { AGENT_NODE_FLAGS } from '../src/common/agent-node-flags.js';

export interface StormResult {
  seconds: number;
  secondsToRegistered: number;
  workerCpuSeconds: number;
  failures: string[];
  /** Join attempts that failed (e.g. CONNACK timeout under load) and were retried. */
  retries: number;
  /** Each registered device's time from its first join attempt to online, ms (register/fleet modes). */
  joinMs: number[];
}

/** Forks workers (a process holds at most ~20,000 sockets here) and waits until `done` says so. */
export async function storm(
  mode: WorkerJob['mode'],
  /** One broker for all, or one per worker (devices spread over several hubs). */
  brokerUrl: string | ((worker: number) => string),
  /** One join token for all, or one per worker (e.g. tokens that label each worker's devices with a zone). */
  token: string | ((worker: number) => string),
  devices: number,
  workers: number,
  concurrency: number,
  done: () => Promise<boolean>,
  /** Runs while every simulated device is still connected (before the workers are stopped). */
  atPeak: () => Promise<void> = async () => undefined,
  /** Gets the worker processes as they are forked (to send them requests while at peak). */
  onWorkers: (children: readonly ChildProcess[]) => void = () => undefined,
  /** How long the storm may take before the bench gives up (a 20,000-device fleet on a busy machine needs more than 10 minutes). */
  limitMs = 10 * 60_000,
): Promise<StormResult> {
  const children: ChildProcess[] = [];
  const registered = new Map<number, number>();
  onWorkers(children);
  const retriesByWorker = new Map<number, number>();
  const failures: string[] = [];
  const joinMs: number[] = [];
  let finished = 0;
  let registeredAt = 0;
  const start = performance.now();
  const per = Math.ceil(devices / workers);
  for (let w = 0; w < workers; w++) {
    const child = fork(new URL('./fleet-worker.js', import.meta.url), [], { stdio: 'inherit' });
    children.push(child);
    child.on('message', (report: WorkerReport) => {
      if (report.type !== 'progress' && report.type !== 'done') return;
      registered.set(w, report.registered);
      retriesByWorker.set(w, report.retries);
      if (report.type === 'done') {
        finished += 1;
        failures.push(...report.failures);
        joinMs.push(...report.joinMs);
      }
      if (!registeredAt && [...registered.values()].reduce((a, b) => a + b, 0) >= devices) registeredAt = performance.now();
    });
    const job: WorkerJob = { mode, brokerUrl: typeof brokerUrl === 'string' ? brokerUrl : brokerUrl(w), token: typeof token === 'string' ? token : token(w), first: w * per, count: Math.min(per, devices - w * per), concurrency };
    child.send(job);
  }
  const deadline = Date.now() + limitMs;
  while (!(finished === workers && (await done()))) {
    if (Date.now() > deadline) {
      for (const c of children) c.kill('SIGTERM');
      throw new Error(`storm did not finish within ${Math.round(limitMs / 60_000)} minutes`);
    }
    if (finished === workers && failures.length > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - start) / 1000;
  const workerCpuSeconds = children.reduce((sum, c) => sum + (c.pid ? cpuSeconds(c.pid) : 0), 0);
  await atPeak();
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))));
  const retries = [...retriesByWorker.values()].reduce((a, b) => a + b, 0);
  return { seconds, secondsToRegistered: registeredAt ? (registeredAt - start) / 1000 : seconds, workerCpuSeconds, failures, retries, joinMs };
}

/** Same machine, same moment: N bare MQTT connects + one subscription each on a plain aedes. */
async function bareBaseline(devices: number, workers: number, concurrency: number): Promise<StormResult> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `mqtt://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const result = await storm('bare-connect', url, '', devices, workers, concurrency, async () => broker.connectedClients >= devices);
  await new Promise<void>((resolve) => broker.close(() => resolve()));
  server.close();
  return result;
}

async function agentIdleRss(apiUrl: string, token: string): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-bench-agent-'));
  // With the Node options the agent is meant to run with, as `edgepilot up` and the systemd unit start it.
  const child = spawn(process.execPath, [...AGENT_NODE_FLAGS, join(repoRoot, 'bin', 'edgepilot.js'), 'agent', '--hub', apiUrl, '--join-token', token, '--state-dir', dir, '--hardware-id', 'bench-idle-agent', '--log-level', 'warn'], { stdio: 'ignore' });
  // Joined, connected, facts sent: then idle for a while before reading RSS.
  await new Promise((r) => setTimeout(r, 10_000));
  const rss = child.pid ? rssBytes(child.pid) : 0;
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dir, { recursive: true, force: true });
  return rss;
}

/** `--store postgres` without `--devices`: a run of about 1–2 minutes on 2 busy cores. */
const SEVERAL_HUBS_DEVICES = 1000;

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: 'string' },
      workers: { type: 'string' },
      concurrency: { type: 'string' },
      'skip-baseline': { type: 'boolean', default: false },
      hubs: { type: 'string', default: '1' },
      store: { type: 'string', default: 'embedded' },
    },
  });
  const hubs = Number(values.hubs);
  if (!Number.isInteger(hubs) || hubs < 1 || hubs > 8) throw new Error(`--hubs ${values.hubs}: expected a whole number 1–8`);
  if (values.store !== 'embedded' && values.store !== 'postgres') throw new Error(`--store ${values.store}: expected embedded or postgres`);
  if (hubs > 1 && values.store !== 'postgres') throw new Error('--hubs above 1 needs --store postgres (several hubs share one store)');
  if (values.store === 'postgres') {
    // Several hubs: the same storm against the single embedded hub and against N hubs on PostgreSQL + Redis.
    const devices = Number(values.devices ?? SEVERAL_HUBS_DEVICES);
    const workers = Number(values.workers ?? hubs * Math.max(1, Math.ceil(devices / (hubs * 2500))));
    const { runSeveralHubs } = await import('./registration-hubs.js');
    await runSeveralHubs({ devices, hubs, workers, concurrency: Number(values.concurrency ?? 100) });
    return;
  }
  const devices = Number(values.devices ?? 2000);
  const workers = Number(values.workers ?? Math.max(2, Math.ceil(devices / 2500)));
  const concurrency = Number(values.concurrency ?? 250);
  console.log(`registration storm: ${devices} devices, ${workers} worker processes × ${concurrency} concurrent joins\n`);

  const baseline = values['skip-baseline'] ? undefined : await bareBaseline(devices, workers, concurrency);

  const hub = await startBenchHub();
  const hubPid = hub.child.pid ?? 0;
  type Stats = { devices: number; online: number; memory: { rssBytes: number } };
  const before = await hub.api<Stats>('GET', '/v1/stats');
  const cpuBefore = cpuSeconds(hubPid);
  const created = await hub.api<{ token: string }>('POST', '/v1/tokens', { ttlSeconds: 3600, maxUses: devices, description: 'bench' });
  let after = before;
  let hubCpu = 0;
  const result = await storm('register', hub.brokerUrl, created.token, devices, workers, concurrency, async () => (await hub.api<Stats>('GET', '/v1/stats')).online >= devices, async () => {
    hubCpu = cpuSeconds(hubPid) - cpuBefore;
    after = await hub.api<Stats>('GET', '/v1/stats');
  });
  const idleToken = await hub.api<{ token: string }>('POST', '/v1/tokens', { ttlSeconds: 600, maxUses: 1, description: 'bench idle agent' });
  const agentRss = await agentIdleRss(hub.apiUrl, idleToken.token);
  const warnings = hub.output().split('\n').filter((l) => / (WARN|ERROR) /.test(l));
  await hub.stop();
  if (warnings.length > 0) console.log(`hub warnings (${warnings.length}, first 5):\n  ${warnings.slice(0, 5).join('\n  ')}\n`);

  if (result.failures.length > 0) console.log(`failures (first ${result.failures.length}):\n  ${result.failures.join('\n  ')}\n`);
  const rate = (n: number, s: number): string => `${(n / s).toFixed(0)}/s`;
  const rows: [string, string][] = [
    ['devices registered', `${after.devices} in ${result.secondsToRegistered.toFixed(2)} s (${rate(after.devices, result.secondsToRegistered)}; ${result.retries} join attempts retried)`],
    ['devices online (hub view)', `${after.online} in ${result.seconds.toFixed(2)} s (${rate(after.online, result.seconds)})`],
    ['hub RSS', `${mb(before.memory.rssBytes)} → ${mb(after.memory.rssBytes)} (${((after.memory.rssBytes - before.memory.rssBytes) / devices / 1024).toFixed(1)} KB per device)`],
    ['hub CPU during storm', `${hubCpu.toFixed(2)} s (${((hubCpu / result.seconds) * 100).toFixed(0)} % of one core)`],
    ['simulator CPU', `${result.workerCpuSeconds.toFixed(2)} s over ${workers} processes`],
    ['one real agent, idle RSS', `${mb(agentRss)} (goal ≤ 50 MB; bare Node 20 ≈ 41 MB)`],
  ];
  if (baseline) {
    rows.push(['baseline: bare aedes connect+subscribe', `${devices} in ${baseline.seconds.toFixed(2)} s (${rate(devices, baseline.seconds)})`]);
    rows.push(['ratio registration / bare connect', `${(baseline.seconds / result.seconds).toFixed(2)}× the bare rate`]);
  }
  for (const [k, v] of rows) console.log(`${k.padEnd(40)} ${v}`);
  console.log(`\nanchors: aedes ~25 KB/client and 5,000 clients in 7.5 s; Mosquitto 3 KB/client, 1.7 s; goal: 10,000 registered and online in < 30 s on 2 cores`);
}
