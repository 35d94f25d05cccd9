// `npm run bench -- registration --hubs 3 --store postgres [--devices N]` (issue 15): the
// registration storm spread over several hub processes sharing one PostgreSQL and one Redis,
// against the single-hub embedded default (lowdb store, in-process broker) in the same run, with
// the same simulated devices, workers and concurrency. On a 2-core machine several hubs cannot be
// faster than one; what this measures is the cost per device, and from the CPU each hub spent
// per device, what one machine per hub would give.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { storm, type StormResult } from './registration.js';
import { startBenchHub, type BenchHub } from './support/hub-process.js';
import { cpuSeconds, ioBytes, rssBytes, treeCpuSeconds } from './support/proc.js';
import { startBenchPostgres, startBenchRedis } from './support/shared-engines.js';

export interface SeveralHubsOptions {
  devices: number;
  hubs: number;
  /** Worker processes simulating devices; each sends its devices to one hub (worker w → hub w mod hubs). */
  workers: number;
  concurrency: number;
}

type Stats = { devices: number; online: number; memory: { rssBytes: number } };

/**
 * A storm that has not finished by then is given up (the engines and hubs are stopped, nothing is
 * left running): two runs at 500–1,000 devices did not finish (bench/RESULTS.md), not yet understood.
 */
const STORM_LIMIT_MS = 5 * 60_000;

/** What one storm cost, per hub and in the engines behind them. */
interface Measured {
  storm: StormResult;
  registered: number;
  /** Uses of the join token the storm counted (one per device, plus joins repeated after a lost answer). */
  tokenUses: number;
  /** Devices sent to each hub. */
  perHubDevices: number[];
  perHubCpu: number[];
  perHubIoBytes: number[];
  perHubRssGrowth: number[];
  engines: { name: string; cpu: number }[];
  /** What the fleet's state takes where it is kept (store files; database; Redis memory). */
  stored: { name: string; bytes: number }[];
}

/** The storm against `hubs`, devices spread over them; `done` asks the first hub. */
async function measure(hubs: BenchHub[], options: SeveralHubsOptions, engines: { name: string; pid: number }[], stored: () => Promise<{ name: string; bytes: number }[]>): Promise<Measured> {
  const { devices, workers, concurrency } = options;
  const pids = hubs.map((h) => h.child.pid ?? 0);
  const first = hubs[0]!;
  // A token without a use limit, as `edgepilot token create` makes by default: a limited token's
  // use is taken under its row's lock (exact across hubs), so every join of the storm would queue
  // on that one row (RESULTS: "seventh session"). `tokenUses` shows uses per registered device.
  const token = await first.api<{ token: string; id: string }>('POST', '/v1/tokens', { ttlSeconds: 3600, description: 'bench' });
  const per = Math.ceil(devices / workers);
  const perHubDevices = hubs.map((_h, i) => {
    let n = 0;
    for (let w = i; w < workers; w += hubs.length) n += Math.max(0, Math.min(per, devices - w * per));
    return n;
  });
  const storedBefore = await stored();
  const rssBefore = pids.map(rssBytes);
  const cpuBefore = pids.map(cpuSeconds);
  const ioBefore = pids.map(ioBytes);
  const engineBefore = engines.map((e) => treeCpuSeconds(e.pid));
  let perHubCpu: number[] = [];
  let perHubIoBytes: number[] = [];
  let perHubRssGrowth: number[] = [];
  let engineCpu: number[] = [];
  let registered = 0;
  // Asked at most twice a second, so the asking costs the hub little.
  let lastAsked = 0;
  const done = async (): Promise<boolean> => {
    if (performance.now() - lastAsked < 500) return false;
    lastAsked = performance.now();
    return (await first.api<Stats>('GET', '/v1/stats')).online >= devices;
  };
  let result: StormResult;
  try {
    result = await storm('register', (w) => hubs[w % hubs.length]!.brokerUrl, token.token, devices, workers, concurrency, done, atPeak, undefined, STORM_LIMIT_MS);
  } catch (err) {
    console.log(await whyNotDone(hubs));
    throw err;
  }
  async function atPeak(): Promise<void> {
    perHubCpu = pids.map((p, i) => cpuSeconds(p) - cpuBefore[i]!);
    perHubIoBytes = pids.map((p, i) => ioBytes(p) - ioBefore[i]!);
    perHubRssGrowth = pids.map((p, i) => rssBytes(p) - rssBefore[i]!);
    engineCpu = engines.map((e, i) => treeCpuSeconds(e.pid) - engineBefore[i]!);
    registered = (await first.api<Stats>('GET', '/v1/stats')).devices;
  }
  const tokenUses = (await first.api<{ items: { id: string; uses: number }[] }>('GET', '/v1/tokens')).items.find((t) => t.id === token.id)?.uses ?? 0;
  const storedAfter = await stored();
  return {
    storm: result,
    registered,
    tokenUses,
    perHubDevices,
    perHubCpu,
    perHubIoBytes,
    perHubRssGrowth,
    engines: engines.map((e, i) => ({ name: e.name, cpu: engineCpu[i]! })),
    stored: storedAfter.map((s, i) => ({ name: s.name, bytes: s.bytes - (storedBefore[i]?.bytes ?? 0) })),
  };
}

/** A storm that did not finish: which devices never came online, by status, and what the hubs said. */
async function whyNotDone(hubs: BenchHub[]): Promise<string> {
  const lines: string[] = ['storm did not finish; devices not online, by status (asked of the first hub):'];
  try {
    const { items } = await hubs[0]!.api<{ items: { id: string; state?: string }[] }>('GET', '/v1/devices');
    const byState = new Map<string, string[]>();
    for (const d of items) {
      const state = d.state ?? 'none';
      if (state !== 'online') byState.set(state, [...(byState.get(state) ?? []), d.id]);
    }
    for (const [state, ids] of byState) lines.push(`  ${state}: ${ids.length} (e.g. ${ids.slice(0, 5).join(', ')})`);
  } catch (err) {
    lines.push(`  (devices could not be listed: ${String(err)})`);
  }
  hubs.forEach((hub, i) => {
    const said = hub.output().split('\n').filter((l) => /warn|error|fail|deadlock/i.test(l));
    lines.push(`hub ${i}: ${said.length} warning/error lines; last ones:`, ...said.slice(-8).map((l) => `  ${l}`));
  });
  return lines.join('\n');
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await folderBytes(path) : (await stat(path)).size;
  }
  return total;
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(' ');

export async function runSeveralHubs(options: SeveralHubsOptions): Promise<void> {
  const { devices, hubs: count, workers, concurrency } = options;
  console.log(`registration storm over ${count} hubs (PostgreSQL + Redis) vs 1 hub (embedded): ${devices} devices, ${workers} worker processes × ${concurrency} concurrent joins`);
  console.log(`load average at start: ${load()}\n`);

  // The single-hub embedded default first, alone on the machine.
  const single = await startBenchHub();
  let baseline: Measured;
  try {
    baseline = await measure([single], { ...options, hubs: 1 }, [], async () => [{ name: 'store files', bytes: await folderBytes(single.dataDir) }]);
  } finally {
    await single.stop();
  }

  const postgres = await startBenchPostgres();
  const redis = await startBenchRedis();
  const hubs: BenchHub[] = [];
  // Hubs sharing a store share the Secret key (a hub with another one refuses to start).
  const keyDir = await mkdtemp(join(tmpdir(), 'ep-bench-key-'));
  const keyFile = join(keyDir, 'secrets.key');
  await writeFile(keyFile, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  try {
    for (let i = 0; i < count; i++) {
      const id = `hub-${String.fromCharCode(97 + i)}`;
      // The first hub on the database makes the admin token; the others share it (its hash is stored).
      hubs.push(await startBenchHub(['--store', postgres.url, '--redis', redis.url, '--hub-id', id, '--secret-key-file', keyFile], i === 0 ? {} : { adminToken: hubs[0]!.adminToken }));
    }
    const several = await measure(
      hubs,
      options,
      [
        { name: 'PostgreSQL', pid: postgres.pid },
        { name: 'Redis', pid: redis.pid },
      ],
      async () => [
        { name: 'PostgreSQL database', bytes: await postgres.size() },
        { name: 'Redis memory', bytes: await redis.usedMemory() },
      ],
    );
    const warnings = hubs.flatMap((h) => h.output().split('\n').filter((l) => / (WARN|ERROR) /.test(l)));
    if (warnings.length > 0) console.log(`hub warnings (${warnings.length}, first 5):\n  ${warnings.slice(0, 5).join('\n  ')}\n`);
    report(baseline, several, count, devices);
  } finally {
    for (const hub of hubs) await hub.stop();
    await redis.stop();
    await postgres.stop();
    await rm(keyDir, { recursive: true, force: true });
  }
  console.log(`\nload average at end: ${load()}`);
}

function report(one: Measured, several: Measured, count: number, devices: number): void {
  for (const m of [one, several]) if (m.storm.failures.length > 0) console.log(`failures (first ${m.storm.failures.length}):\n  ${m.storm.failures.join('\n  ')}\n`);
  const perK = (seconds: number, n: number): number => (seconds / Math.max(1, n)) * 1000;
  const rate = (m: Measured): number => m.registered / m.storm.secondsToRegistered;
  const hubCpuPerK = (m: Measured): number => perK(sum(m.perHubCpu), devices);
  const rows: [string, string, string, string][] = [];
  const row = (what: string, a: string, b: string, ratio = ''): void => void rows.push([what, a, b, ratio]);
  const times = (a: number, b: number): string => (a > 0 ? `${(b / a).toFixed(2)}×` : '');
  row('devices registered', `${one.registered} in ${one.storm.secondsToRegistered.toFixed(1)} s`, `${several.registered} in ${several.storm.secondsToRegistered.toFixed(1)} s`);
  row('registrations/s', rate(one).toFixed(0), rate(several).toFixed(0), times(rate(one), rate(several)));
  row('join latency p50 / p99', `${percentile(one.storm.joinMs, 50).toFixed(0)} / ${percentile(one.storm.joinMs, 99).toFixed(0)} ms`, `${percentile(several.storm.joinMs, 50).toFixed(0)} / ${percentile(several.storm.joinMs, 99).toFixed(0)} ms`, times(percentile(one.storm.joinMs, 50), percentile(several.storm.joinMs, 50)));
  row('join attempts retried', String(one.storm.retries), String(several.storm.retries));
  row('join token uses per registered device', (one.tokenUses / Math.max(1, one.registered)).toFixed(2), (several.tokenUses / Math.max(1, several.registered)).toFixed(2));
  row('hub CPU s per 1,000 devices, total', hubCpuPerK(one).toFixed(2), hubCpuPerK(several).toFixed(2), times(hubCpuPerK(one), hubCpuPerK(several)));
  several.perHubCpu.forEach((cpu, i) => row(`  hub-${String.fromCharCode(97 + i)} (${several.perHubDevices[i]} devices)`, '', `${perK(cpu, several.perHubDevices[i]!).toFixed(2)} (${cpu.toFixed(1)} s)`));
  for (const e of several.engines) row(`${e.name} CPU s per 1,000 devices`, '', perK(e.cpu, devices).toFixed(2));
  const allCpu = (m: Measured): number => perK(sum(m.perHubCpu) + sum(m.engines.map((e) => e.cpu)), devices);
  row('hubs + engines CPU s per 1,000 devices', allCpu(one).toFixed(2), allCpu(several).toFixed(2), times(allCpu(one), allCpu(several)));
  const kb = (bytes: number): string => `${(bytes / devices / 1024).toFixed(1)} KB`;
  row('hub read+write bytes per device (sockets, files)', kb(sum(one.perHubIoBytes)), kb(sum(several.perHubIoBytes)), times(sum(one.perHubIoBytes), sum(several.perHubIoBytes)));
  row('hub RSS growth per device', kb(sum(one.perHubRssGrowth)), kb(sum(several.perHubRssGrowth)));
  for (const s of [...one.stored, ...several.stored]) row(`${s.name} per device`, one.stored.includes(s) ? kb(s.bytes) : '', several.stored.includes(s) ? kb(s.bytes) : '');
  row('simulator CPU', `${one.storm.workerCpuSeconds.toFixed(1)} s`, `${several.storm.workerCpuSeconds.toFixed(1)} s`);
  const widths = [50, 22, 24];
  console.log(`${''.padEnd(widths[0]!)} ${'1 hub, embedded'.padEnd(widths[1]!)} ${`${count} hubs, PG + Redis`.padEnd(widths[2]!)} ratio`);
  for (const [w, a, b, r] of rows) console.log(`${w.padEnd(widths[0]!)} ${a.padEnd(widths[1]!)} ${b.padEnd(widths[2]!)} ${r}`);

  // From CPU per device: a hub's process is busy on about one core, so one machine per hub
  // registers about 1,000 / (its CPU s per 1,000 devices) devices a second. Redis is single-threaded
  // (one core); PostgreSQL is given the 2 cores of a machine of its own.
  const perHub = several.perHubCpu.map((cpu, i) => 1000 / Math.max(1e-9, perK(cpu, several.perHubDevices[i]!)));
  const bounds = several.engines.map((e) => ({ name: e.name, rate: ((e.name === 'PostgreSQL' ? 2 : 1) * 1000) / Math.max(1e-9, perK(e.cpu, devices)) }));
  const hubsRate = sum(perHub);
  const estimate = Math.min(hubsRate, ...bounds.map((b) => b.rate));
  const oneCore = 1000 / Math.max(1e-9, hubCpuPerK(one));
  console.log(`\nestimate from CPU per device (not measured): ${count} machines, one hub each at one core, ≈ ${hubsRate.toFixed(0)} registrations/s from the hubs (${perHub.map((r) => r.toFixed(0)).join(' + ')});`);
  console.log(`  the engines bound it at ${bounds.map((b) => `${b.name} ≈ ${b.rate.toFixed(0)}/s (${b.name === 'PostgreSQL' ? '2 cores' : '1 core'})`).join(', ')};`);
  console.log(`  so ≈ ${estimate.toFixed(0)}/s, ${(estimate / oneCore).toFixed(2)}× the single embedded hub at one core (≈ ${oneCore.toFixed(0)}/s from its ${hubCpuPerK(one).toFixed(2)} CPU s per 1,000).`);
  console.log(`measured on this machine: ${(rate(several) / rate(one)).toFixed(2)}× the single hub's rate (every process shares the same cores here).`);
}
