// `npm run bench -- reconnect --devices 10000`: a restart storm. A registered, healthy fleet (every
// device runs a `replicas: all` workload and reports it) loses its hub to SIGKILL; the hub starts
// again on the same state and the devices come back with their stored credentials (nobody
// re-joins). Then the same with the hub up and an external Mosquitto killed and restarted.
// Measured: until every device is online again in the hub's view, with the arrival histogram.
// The store is compared before and after; any difference fails the bench.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startBenchHub, type BenchHub } from './support/hub-process.js';
import { freePort } from './support/ports.js';
import { watchOnlineSince } from './support/online-watch.js';
import { cpuSeconds, ioCalls, listenOverflows, machineCpu } from './support/proc.js';
import { histogram, startSimFleet, type SimFleet } from './support/sim-fleet.js';
import { compareSnapshots, reportingRunning, snapshotStore, type DeviceSnapshot } from './support/store-snapshot.js';
import type { WorkerJob } from './fleet-worker.js';

const GOAL_SECONDS = 15;
/** How long a storm may take before the bench reports how far it got. */
const STORM_TIMEOUT_MS = 240_000;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number, everyMs = 250): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * The store's files as they stand once they hold what the hub has seen: every device the hub
 * counts ready on the probe workload has that report in observed.json (the observed flush is
 * paced, so a snapshot taken at once misses the last reports, and the comparison after the
 * restart would count them as differences that are not losses).
 */
async function settledSnapshot(hub: BenchHub, workload: string): Promise<Map<string, DeviceSnapshot>> {
  type Workloads = { items: { name: string; status: { ready: number } }[] };
  const ready = (await hub.api<Workloads>('GET', '/v1/workloads')).items.find((x) => x.name === workload)?.status.ready ?? 0;
  let snapshot = new Map<string, DeviceSnapshot>();
  await until(
    `the store to hold the ${ready} ready reports of ${workload}`,
    async () => {
      snapshot = await snapshotStore(hub.dataDir);
      return reportingRunning(snapshot, workload) >= ready;
    },
    60_000,
    500,
  );
  return snapshot;
}

/** Mosquitto on a fixed loopback port, restartable on it (no persistence: retained state is lost too). */
async function startMosquitto(dir: string, port: number): Promise<ChildProcess> {
  const binary = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));
  if (!binary) throw new Error('mosquitto is not installed (apt-get install mosquitto)');
  const config = join(dir, 'mosquitto.conf');
  await writeFile(config, [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'persistence false', 'max_queued_messages 10000', 'log_dest none', ''].join('\n'));
  await chmod(dir, 0o755);
  const child = spawn(binary, ['-c', config], { stdio: 'ignore' });
  const accepting = (): Promise<boolean> =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.destroy(), resolve(true)));
      socket.on('error', () => resolve(false));
    });
  await until('mosquitto to accept connections', accepting, 10_000, 50);
  return child;
}

interface Fleet {
  hub: BenchHub;
  sim: SimFleet;
  workload: string;
}

type Stats = { devices: number; online: number };

/** Registers the fleet, gives it state worth losing (labels, cordons, a workload on every device). */
/** How the simulated fleet is run (worker processes, joins in flight, reconnect backoff, join attempts). */
interface SimSetup {
  workers: number;
  concurrency: number;
  reconnect: WorkerJob['reconnect'];
  joinAttempts: number;
}

async function prepareFleet(hub: BenchHub, devices: number, { workers, concurrency, reconnect, joinAttempts }: SimSetup): Promise<Fleet> {
  const created = await hub.api<{ token: string }>('POST', '/v1/tokens', { ttlSeconds: 3600, maxUses: devices, description: 'bench' });
  const sim = await startSimFleet({ brokerUrl: hub.brokerUrl, token: created.token, devices, workers, concurrency, reconnect, joinAttempts }).catch(async (err: unknown) => {
    await hub.stop();
    throw err;
  });
  await until('every device online', async () => (await hub.api<Stats>('GET', '/v1/stats')).online >= devices, 120_000);
  const { items } = await hub.api<{ items: { id: string }[] }>('GET', '/v1/devices');
  const ids = items.map((d) => d.id);
  for (const [i, id] of ids.slice(0, Math.min(100, ids.length)).entries()) {
    await hub.api('PATCH', `/v1/devices/${id}/labels`, { set: { line: `line-${i % 4}`, bench: 'labelled' }, remove: [] });
  }
  for (const id of ids.slice(100, 120)) await hub.api('POST', `/v1/devices/${id}/cordon`);
  const workload = 'storm-probe';
  const manifest = { apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: workload }, spec: { replicas: 'all', template: { runtime: 'process', command: ['sleep', '100000'] } } };
  await hub.api('POST', '/v1/apply', { manifests: [manifest] });
  type Workloads = { items: { name: string; status: { desired: number; ready: number } }[] };
  await until(
    'the workload reported ready on every device',
    async () => {
      const w = (await hub.api<Workloads>('GET', '/v1/workloads')).items.find((x) => x.name === workload);
      return w !== undefined && w.status.desired >= devices && w.status.ready >= w.status.desired;
    },
    300_000,
    1000,
  );
  return { hub, sim, workload };
}

interface StormMeasure {
  label: string;
  devices: number;
  /** From the kill to every device online again in the hub's view. */
  seconds: number;
  /** From the restarted hub (or broker) accepting connections to every device online. */
  secondsAfterUp: number;
  downSeconds: number;
  hubCpuSeconds: number;
  /** The hub's write system calls during the recovery (socket writes to devices, mostly). */
  hubWriteCalls: number;
  /** The simulated devices' CPU during the recovery (they share the machine with the hub). */
  simCpuSeconds: number;
  /** Share of the machine's CPU time (all cores) that was busy during the recovery. */
  machineBusy: number;
  /** Handshakes the kernel dropped during the recovery because the broker's accept queue was full. */
  droppedHandshakes: number;
  attempts: number;
  /** Devices not online again when the bench gave up waiting. */
  missing: number;
  histogramLines: string[];
  problems: string[];
}

/** Counters read just before the kill (the hub's are its restarted process's own when it is the one killed). */
interface CountersBefore {
  hubCpu: number;
  hubWrites: number;
  simCpu: number;
  machine: { busy: number; total: number };
  listenOverflows: number;
}

const countersOf = (sim: SimFleet, hubPid: number | undefined): CountersBefore => ({
  hubCpu: hubPid === undefined ? 0 : cpuSeconds(hubPid),
  hubWrites: hubPid === undefined ? 0 : ioCalls(hubPid).writes,
  simCpu: sim.cpuSeconds(),
  machine: machineCpu(),
  listenOverflows: listenOverflows(),
});

async function measure(label: string, devices: number, sim: SimFleet, killAt: number, upAt: number, hub: BenchHub, before: CountersBefore): Promise<Omit<StormMeasure, 'problems'>> {
  const watch = await watchOnlineSince(hub, killAt);
  // A storm that does not end is a result too: say how far it got (and fail the bench).
  const missing = await until(`${devices} devices online again`, () => watch.onlineAt.size >= devices, STORM_TIMEOUT_MS, 100).then(
    () => 0,
    () => devices - watch.onlineAt.size,
  );
  const last = Math.max(killAt, ...watch.onlineAt.values());
  const hubCpuSeconds = cpuSeconds(hub.child.pid ?? 0) - before.hubCpu;
  const hubWriteCalls = ioCalls(hub.child.pid ?? 0).writes - before.hubWrites;
  const simCpuSeconds = sim.cpuSeconds() - before.simCpu;
  const machineAfter = machineCpu();
  const machineBusy = (machineAfter.busy - before.machine.busy) / Math.max(1, machineAfter.total - before.machine.total);
  watch.close();
  const arrivals = await sim.arrivals(killAt);
  return {
    label: missing > 0 ? `${label} — ${missing} of ${devices} NOT online again after ${STORM_TIMEOUT_MS / 1000} s` : label,
    missing,
    devices,
    seconds: (last - killAt) / 1000,
    secondsAfterUp: (last - upAt) / 1000,
    downSeconds: (upAt - killAt) / 1000,
    hubCpuSeconds,
    hubWriteCalls,
    simCpuSeconds,
    machineBusy,
    droppedHandshakes: listenOverflows() - before.listenOverflows,
    attempts: arrivals.attempts.length,
    histogramLines: [
      `reconnections completed per 250 ms (device side), from the kill:`,
      ...histogram(arrivals.connected, killAt, 250),
      `reconnect attempts per 250 ms (device side; refused ones while down included), from the kill:`,
      ...histogram(arrivals.attempts, killAt, 250),
    ],
  };
}

async function hubRestartStorm(devices: number, setup: SimSetup): Promise<{ registration: number; storm: StormMeasure }> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-bench-storm-'));
  const listen = `127.0.0.1:${await freePort()}`;
  const mqttListen = `127.0.0.1:${await freePort()}`;
  let hub = await startBenchHub([], { dir, listen, mqttListen });
  const adminToken = hub.adminToken;
  const { sim, workload } = await prepareFleet(hub, devices, setup).catch(async (err: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  try {
    const before = await settledSnapshot(hub, workload);
    const counters = countersOf(sim, undefined);
    const killAt = Date.now();
    await hub.kill();
    // BENCH_KEEP_STORE=<dir>: a copy of the killed hub's data dir, to profile its start-up alone.
    const keep = process.env['BENCH_KEEP_STORE'];
    if (keep) await cp(hub.dataDir, keep, { recursive: true });
    hub = await startBenchHub([], { dir, adminToken, listen, mqttListen });
    const upAt = Date.now();
    const m = await measure('hub SIGKILLed and restarted (embedded broker)', devices, sim, killAt, upAt, hub, counters);
    await sleep(2500);
    await hub.stop();
    const problems = compareSnapshots(before, await snapshotStore(hub.dataDir));
    return { registration: sim.registeredSeconds, storm: { ...m, problems } };
  } finally {
    await sim.stop();
    if (hub.child.exitCode === null && hub.child.signalCode === null) await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function brokerRestartStorm(devices: number, setup: SimSetup): Promise<{ registration: number; storm: StormMeasure }> {
  const dir = await mkdtemp(join(tmpdir(), 'ep-bench-broker-'));
  const mosquittoDir = join(dir, 'mosquitto');
  await mkdir(mosquittoDir);
  const port = await freePort();
  let mosquitto = await startMosquitto(mosquittoDir, port);
  const hub = await startBenchHub(['--broker', `mqtt://127.0.0.1:${port}`]);
  const { sim, workload } = await prepareFleet(hub, devices, setup).catch(async (err: unknown) => {
    mosquitto.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  });
  try {
    const before = await settledSnapshot(hub, workload);
    const counters = countersOf(sim, hub.child.pid);
    const killAt = Date.now();
    mosquitto.kill('SIGKILL');
    await new Promise((r) => mosquitto.once('exit', r));
    mosquitto = await startMosquitto(mosquittoDir, port);
    const upAt = Date.now();
    const m = await measure('Mosquitto SIGKILLed and restarted under a running hub (--broker)', devices, sim, killAt, upAt, hub, counters);
    await sleep(2500);
    const dataDir = hub.dataDir;
    // stop() removes the hub's folder: read the store after a graceful flush, before that.
    hub.child.kill('SIGTERM');
    await new Promise((r) => hub.child.once('exit', r));
    const problems = compareSnapshots(before, await snapshotStore(dataDir));
    return { registration: sim.registeredSeconds, storm: { ...m, problems } };
  } finally {
    await sim.stop();
    await hub.stop();
    mosquitto.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

function print(m: StormMeasure, baseline: number): void {
  console.log(`\n== ${m.label}: ${m.devices} devices`);
  const rows: [string, string][] = [
    ['all online again (hub view), from the kill', `${m.seconds.toFixed(2)} s (goal ≤ ${GOAL_SECONDS} s: ${m.seconds <= GOAL_SECONDS && m.missing === 0 ? 'met' : 'NOT met'})`],
    ['down (kill → accepting again)', `${m.downSeconds.toFixed(2)} s`],
    ['from accepting again to all online', `${m.secondsAfterUp.toFixed(2)} s (${(m.devices / m.secondsAfterUp).toFixed(0)}/s)`],
    ['hub CPU during the recovery', `${m.hubCpuSeconds.toFixed(2)} s`],
    ['simulated devices\' CPU during the recovery', `${m.simCpuSeconds.toFixed(2)} s (the machine was ${(m.machineBusy * 100).toFixed(0)} % busy on ${cpus().length} cores)`],
    ['handshakes dropped (accept queue full)', `${m.droppedHandshakes}`],
    ['hub write system calls during the recovery', `${m.hubWriteCalls} (${(m.hubWriteCalls / m.devices).toFixed(1)} per device)`],
    ['reconnect attempts (all devices)', `${m.attempts} (${(m.attempts / m.devices).toFixed(2)} per device)`],
    ['baseline: initial registration, same run', `${baseline.toFixed(2)} s (ratio recovery / registration ${(m.seconds / baseline).toFixed(2)})`],
    ['store before vs after', m.problems.length === 0 ? `identical for all ${m.devices} devices (labels, taints, cordon, desired generation, reported instances)` : `${m.problems.length} DIFFERENCES`],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(44)} ${v}`);
  console.log(m.histogramLines.join('\n'));
  if (m.problems.length > 0) console.log(`\nSTATE LOST OR CHANGED (first 10 of ${m.problems.length}):\n  ${m.problems.slice(0, 10).join('\n  ')}`);
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      devices: { type: 'string', default: '10000' },
      workers: { type: 'string' },
      concurrency: { type: 'string', default: '250' },
      scenario: { type: 'string', default: 'both' },
      'fixed-period': { type: 'string' },
      // A loaded machine answers some CONNECTs late; a real agent retries its join forever.
      'join-attempts': { type: 'string', default: '10' },
    },
  });
  const devices = Number(values.devices);
  const workers = Number(values.workers ?? Math.max(2, Math.ceil(devices / 2500)));
  const concurrency = Number(values.concurrency);
  const scenario = values.scenario ?? 'both';
  if (!['hub', 'broker', 'both'].includes(scenario)) throw new Error(`--scenario: hub, broker or both, not ${scenario}`);
  // --fixed-period 2000: what the agent did before (mqtt.js reconnectPeriod), for comparison.
  const fixed = values['fixed-period'] ? Number(values['fixed-period']) : undefined;
  const reconnect: WorkerJob['reconnect'] = fixed ? { backoff: { baseMs: fixed, capMs: fixed }, fixed: true } : undefined;
  console.log(`restart storm: ${devices} devices, ${workers} worker processes; reconnect ${fixed ? `every ${fixed} ms (fixed, no jitter)` : 'with the agent\'s full-jitter backoff (1 s base, 10 s cap)'}`);

  const setup: SimSetup = { workers, concurrency, reconnect, joinAttempts: Number(values['join-attempts']) };
  const results: StormMeasure[] = [];
  if (scenario !== 'broker') {
    const r = await hubRestartStorm(devices, setup);
    print(r.storm, r.registration);
    results.push(r.storm);
  }
  if (scenario !== 'hub') {
    const r = await brokerRestartStorm(devices, setup);
    print(r.storm, r.registration);
    results.push(r.storm);
  }
  if (results.some((m) => m.missing > 0)) {
    console.error('\nFAILED: not every device came back online (see above)');
    process.exitCode = 1;
  }
  if (results.some((m) => m.problems.length > 0)) {
    console.error('\nFAILED: the store differs after the restart (see above)');
    process.exitCode = 1;
  }
}
