// `npm run bench -- fleet [--devices 20000]`: one hub, N simulated devices that follow their desired
// state (bench/support/sim-device-runtime.ts), then one apply at a time, each measured from `apply`
// returning until the hub sees every instance running and ready. Baseline, same run: registering
// the same fleet. Then the hub's pass durations with 50 workloads on the same fleet.
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { WorkerReport, WorkerRequest } from './fleet-worker.js';
import { maxBrokerConnections, parseOpenFilesLimit } from '../src/hub/broker/connection-limit.js';
import { parseManifests, recordFor } from '../src/hub/workloads/manifests.js';
import { storm } from './registration.js';
import { benchWorkload as workload } from './support/pass-fixture.js';
import { startBenchHub, type BenchHub } from './support/hub-process.js';
import { cpuSeconds, mb } from './support/proc.js';

const ZONE_LABEL = 'topology.edgepilot.io/zone';
const ZONES = ['zone-a', 'zone-b', 'zone-c', 'zone-d'];

interface Convergence {
  devices: number;
  devicesConverged: number;
  instances: number;
  running: number;
}
interface PassSummary {
  count: number;
  last?: { totalMs: number; placementMs: number; devices: number; workloads: number; published: number };
  recent: { passes: number; p50TotalMs: number; maxTotalMs: number; p50PlacementMs: number; maxPlacementMs: number };
}
interface Stats {
  devices: number;
  online: number;
  memory: { rssBytes: number };
  passes: PassSummary;
  instances?: Convergence;
}
type WorkerStats = Extract<WorkerReport, { type: 'stats' }>;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Sends one request to every worker and collects the answer of the given type from each. */
async function askWorkers<T extends WorkerReport['type']>(workers: readonly ChildProcess[], request: WorkerRequest, type: T): Promise<Extract<WorkerReport, { type: T }>[]> {
  return Promise.all(
    workers.map(
      (child) =>
        new Promise<Extract<WorkerReport, { type: T }>>((resolve) => {
          const listener = (report: WorkerReport): void => {
            if (report.type !== type) return;
            child.off('message', listener);
            resolve(report as Extract<WorkerReport, { type: T }>);
          };
          child.on('message', listener);
          child.send(request);
        }),
    ),
  );
}

async function workerStats(workers: readonly ChildProcess[]): Promise<Omit<WorkerStats, 'type'>> {
  const all = await askWorkers(workers, { type: 'stats' }, 'stats');
  const sum = { devices: 0, desiredMessages: 0, desiredBytes: 0, reportsSent: 0, reportBytes: 0, dropped: 0 };
  for (const s of all) for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += s[k];
  return sum;
}

interface ScenarioResult {
  label: string;
  instances: number;
  seconds: number;
  p50: number;
  p99: number;
  hubCpu: number;
  desiredBytesPerDevice: number;
  reportBytesPerDevice: number;
  passes: number;
  maxPassMs: number;
}

/** Applies one manifest and waits until every instance of its new revision runs, as the hub sees it. */
async function scenario(hub: BenchHub, workers: readonly ChildProcess[], devices: number, label: string, manifest: unknown, expected: number): Promise<ScenarioResult> {
  const hubPid = hub.child.pid ?? 0;
  const before = await workerStats(workers);
  const statsBefore = await hub.api<Stats>('GET', '/v1/stats');
  const cpuBefore = cpuSeconds(hubPid);
  await hub.api('POST', '/v1/apply', { manifests: [manifest] });
  const appliedAt = Date.now();
  // The revision the hub gives it, computed here by the hub's own code (asking the hub for the
  // workload would add a fleet-wide view to the time measured).
  const [parsed] = parseManifests([manifest]);
  if (!parsed) throw new Error('no manifest');
  const { name, revision } = recordFor(parsed, undefined, new Date().toISOString()).record;
  const deadline = appliedAt + 10 * 60_000;
  // Devices say when they ran it; the hub has seen it once every sent instance is reported running.
  for (;;) {
    if (Date.now() > deadline) throw new Error(`${label}: not converged within 10 minutes`);
    await new Promise((r) => setTimeout(r, 100));
    const counts = await askWorkers(workers, { type: 'running', workload: name, revision, countOnly: true }, 'running');
    if (counts.reduce((n, c) => n + c.count, 0) < expected) continue;
    const stats = await hub.api<Stats>('GET', '/v1/stats?instances=true');
    if (stats.instances && stats.instances.running === stats.instances.instances) break;
  }
  const seconds = (Date.now() - appliedAt) / 1000;
  const hubCpu = cpuSeconds(hubPid) - cpuBefore;
  const statsAfter = await hub.api<Stats>('GET', '/v1/stats');
  const after = await workerStats(workers);
  const times = (await askWorkers(workers, { type: 'running', workload: name, revision, countOnly: false }, 'running')).flatMap((r) => r.times).map((t) => (t - appliedAt) / 1000);
  times.sort((a, b) => a - b);
  return {
    label,
    instances: times.length,
    seconds,
    p50: percentile(times, 50),
    p99: percentile(times, 99),
    hubCpu,
    desiredBytesPerDevice: (after.desiredBytes - before.desiredBytes) / devices,
    reportBytesPerDevice: (after.reportBytes - before.reportBytes) / devices,
    passes: statsAfter.passes.count - statsBefore.passes.count,
    maxPassMs: statsAfter.passes.recent.maxTotalMs,
  };
}

/** With 50 workloads on the fleet: the duration of passes that each carry one change. */
async function passesWith50(hub: BenchHub, devices: number, present: number): Promise<{ total: number[]; placement: number[]; inOrder: string; workloads: number }> {
  const extra = Array.from({ length: 50 - present }, (_, i) => workload(`small-${i}`, { replicas: Math.min(20, devices) }));
  await hub.api('POST', '/v1/apply?wait=true', { manifests: extra });
  const total: number[] = [];
  const placement: number[] = [];
  let workloads = 0;
  for (let round = 0; round < 7; round++) {
    await hub.api('POST', '/v1/apply?wait=true', { manifests: [workload('small-0', { replicas: Math.min(20, devices) }, { ROUND: String(round) })] });
    const { passes } = await hub.api<Stats>('GET', '/v1/stats');
    if (!passes.last) continue;
    total.push(passes.last.totalMs);
    placement.push(passes.last.placementMs);
    workloads = passes.last.workloads;
  }
  // In the order they ran, too: whether a slow one is the first after the 48 new workloads or any.
  const inOrder = total.map((t, i) => `${t.toFixed(0)}/${(placement[i] ?? NaN).toFixed(0)}`).join(' ');
  return { total: total.sort((a, b) => a - b), placement: placement.sort((a, b) => a - b), inOrder, workloads };
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: 'string', default: '20000' },
      workers: { type: 'string' },
      concurrency: { type: 'string', default: '250' },
      'skip-passes': { type: 'boolean', default: false },
      'limit-minutes': { type: 'string', default: '30' },
    },
  });
  let devices = Number(values.devices);
  const workerCount = Number(values.workers ?? Math.max(ZONES.length, Math.ceil(devices / 2500)));
  const concurrency = Number(values.concurrency);
  console.log(`fleet apply: ${devices} simulated devices (following their desired state), ${workerCount} worker processes; load average ${loadavg()[0]?.toFixed(1)}\n`);

  const hub = await startBenchHub();
  const hubPid = hub.child.pid ?? 0;
  // The hub takes devices up to its open-files limit less its own reserve (connection-limit.ts).
  // A fleet larger than that would knock forever: the bench measures the devices one hub can hold, and says so.
  const openFiles = parseOpenFilesLimit(readFileSync(`/proc/${hubPid}/limits`, 'utf8'));
  const capacity = maxBrokerConnections(openFiles) ?? Infinity;
  if (devices > capacity) {
    console.log(`hub open-files limit ${openFiles}, which the bench could not raise (needs CAP_SYS_RESOURCE): one hub holds ${capacity} device connections; measuring ${capacity} devices, not ${devices}\n`);
    devices = capacity;
  } else console.log(`hub open-files limit: ${openFiles ?? 'unlimited'}\n`);
  // Each scenario is also printed as soon as it is measured (a long run on a busy machine shows its progress).
  const measured = (r: ScenarioResult): ScenarioResult => {
    console.log(`measured: ${r.label}: ${r.instances} instances, total ${r.seconds.toFixed(2)} s, p50 ${r.p50.toFixed(2)} s, p99 ${r.p99.toFixed(2)} s, hub CPU ${r.hubCpu.toFixed(2)} s`);
    return r;
  };
  const tokens = await Promise.all(
    ZONES.map((zone) => hub.api<{ token: string }>('POST', '/v1/tokens', { ttlSeconds: 3600, maxUses: devices, labels: { [ZONE_LABEL]: zone }, description: `bench ${zone}` })),
  );
  let workers: readonly ChildProcess[] = [];
  const results: ScenarioResult[] = [];
  let passes: Awaited<ReturnType<typeof passesWith50>> | undefined;
  let rss = 0;
  let hubCpuTotal = 0;
  const registration = await storm(
    'register',
    hub.brokerUrl,
    (w) => tokens[w % tokens.length]?.token ?? '',
    devices,
    workerCount,
    concurrency,
    async () => (await hub.api<Stats>('GET', '/v1/stats')).online >= devices,
    async () => {
      // Facts of the last devices may still be on their way: let the hub settle first.
      await new Promise((r) => setTimeout(r, 2000));
      // A join that failed even after its retries leaves fewer devices than asked for: expect those that are online.
      const { online } = await hub.api<Stats>('GET', '/v1/stats');
      if (online < devices) console.log(`${devices - online} simulated devices did not join; measuring the ${online} that did\n`);
      results.push(measured(await scenario(hub, workers, online, 'replicas: all (every device)', workload('every', { replicas: 'all' }), online)));
      results.push(measured(await scenario(hub, workers, online, `replicas: ${online}, zone spread`, workload('spread', { replicas: online, topologySpread: [{ topologyKey: ZONE_LABEL, maxSkew: 1 }] }), online)));
      results.push(measured(await scenario(hub, workers, online, 'template change of the first', workload('every', { replicas: 'all' }, { VERSION: '2' }), online)));
      if (!values['skip-passes']) passes = await passesWith50(hub, online, 2);
      rss = (await hub.api<Stats>('GET', '/v1/stats')).memory.rssBytes;
      hubCpuTotal = cpuSeconds(hubPid);
    },
    (children) => (workers = children),
    Number(values['limit-minutes']) * 60_000,
  ).catch(async (err: unknown) => {
    await hub.stop();
    throw err;
  });
  const warnings = hub.output().split('\n').filter((l) => / (WARN|ERROR) /.test(l));
  await hub.stop();
  if (warnings.length > 0) console.log(`hub warnings (${warnings.length}, first 5):\n  ${warnings.slice(0, 5).join('\n  ')}\n`);
  if (registration.failures.length > 0) console.log(`failures (first ${registration.failures.length}):\n  ${registration.failures.join('\n  ')}\n`);

  const s = (x: number): string => `${x.toFixed(2)} s`;
  console.log(`baseline: registering the same fleet took ${s(registration.seconds)} (${(devices / registration.seconds).toFixed(0)} devices/s)\n`);
  console.log('apply → hub sees every instance running and ready');
  console.log(`${'scenario'.padEnd(34)} ${'instances'.padStart(9)} ${'total'.padStart(8)} ${'p50'.padStart(7)} ${'p99'.padStart(7)} ${'hub CPU'.padStart(8)} ${'desired B/dev'.padStart(13)} ${'report B/dev'.padStart(12)} ${'passes'.padStart(6)} ${'ratio to reg.'.padStart(13)}`);
  for (const r of results) {
    console.log(
      `${r.label.padEnd(34)} ${String(r.instances).padStart(9)} ${s(r.seconds).padStart(8)} ${s(r.p50).padStart(7)} ${s(r.p99).padStart(7)} ${s(r.hubCpu).padStart(8)} ${r.desiredBytesPerDevice.toFixed(0).padStart(13)} ${r.reportBytesPerDevice.toFixed(0).padStart(12)} ${String(r.passes).padStart(6)} ${(r.seconds / registration.seconds).toFixed(2).padStart(12)}×`,
    );
  }
  console.log('(p50/p99: per instance, from apply returning to its device reporting it running; total: until the hub has seen them all)');
  if (passes) {
    const ms = (x: number): string => `${x.toFixed(1)} ms`;
    console.log(`\nplacement passes with ${passes.workloads} workloads at ${devices} devices (${passes.total.length} passes, each carrying one change):`);
    console.log(`  whole pass   p50 ${ms(percentile(passes.total, 50))}, max ${ms(passes.total.at(-1) ?? NaN)}`);
    console.log(`  placement    p50 ${ms(percentile(passes.placement, 50))}, max ${ms(passes.placement.at(-1) ?? NaN)}`);
    console.log(`  in the order they ran (whole/placement, ms): ${passes.inOrder}`);
  }
  console.log(`\nhub RSS at the end ${mb(rss)}; hub CPU in total ${s(hubCpuTotal)}; simulator CPU ${s(registration.workerCpuSeconds)}; load average now ${loadavg()[0]?.toFixed(1)}`);
  console.log('goals: replicas: all converges on 20,000 devices in ≤ 10 s; passes ≤ 100 ms at 20,000 devices with 50 workloads');
}
