// A child process that simulates a slice of the fleet with the agent's own protocol code
// (joinFleet, DeviceSession, and the agent's planner and report through SimDeviceRuntime):
// `fork('fleet-worker.js')`, then one message with the job. Registered devices follow their
// desired state (instances "run" at once) and report like a real agent.
import mqtt from 'mqtt';
import { createLogger } from '../src/common/log.js';
import type { ReportedState } from '../src/protocol/index.js';
import { generateDeviceKey } from '../src/device-agent/identity/device-key.js';
import { joinFleet } from '../src/device-agent/identity/join.js';
import { DeviceSession } from '../src/device-agent/session/device-session.js';
import { simulatedFacts } from './support/sim-facts.js';
import { attachSimDeviceRuntime, type SimDeviceRuntime } from './support/sim-device-runtime.js';
import type { ConnectMqtt } from '../src/device-agent/session/mqtt-connect.js';
import type { ReconnectBackoff } from '../src/device-agent/session/reconnect-backoff.js';

export interface WorkerJob {
  /** `fleet`: like `register`, and notes each device's reconnect attempts and reconnections (restart storm). */
  mode: 'register' | 'bare-connect' | 'fleet';
  brokerUrl: string;
  token: string;
  first: number;
  count: number;
  concurrency: number;
  /** Overrides the agent's reconnect backoff (a fixed period for comparison: base = cap, random = 1). */
  reconnect?: { backoff: ReconnectBackoff; fixed: boolean };
  /** Join attempts before this device counts as failed (default 5). */
  joinAttempts?: number;
}

export type WorkerReport =
  | { type: 'progress'; registered: number; online: number; retries: number }
  /** `joinMs`: each device's time from its first join attempt to online (own session up, facts sent). */
  | { type: 'done'; registered: number; online: number; retries: number; failures: string[]; joinMs: number[] }
  /** Answer to a `{ type: 'stats' }` message: what the simulated devices received and sent. */
  | { type: 'stats'; devices: number; desiredMessages: number; desiredBytes: number; reportsSent: number; reportBytes: number; dropped: number }
  /** Answer to `running`: how many instances of that revision were reported running and ready, and when each first was (epoch ms; empty with `countOnly`). */
  | { type: 'running'; workload: string; revision: string; count: number; times: number[] }
  /** Answer to `arrivals`: epoch ms of reconnect attempts and of completed reconnections since `since`. */
  | { type: 'arrivals'; attempts: number[]; connected: number[] };

/** Messages a worker takes after its job. */
export type WorkerRequest = { type: 'stats' } | { type: 'running'; workload: string; revision: string; countOnly: boolean } | { type: 'arrivals'; since: number };

// BENCH_SIM_LOG=warn|info|debug: what the simulated agents say (errors only by default: 20,000 of them).
const log = createLogger('sim', (process.env['BENCH_SIM_LOG'] as Parameters<typeof createLogger>[1] | undefined) ?? 'error');
const sessions: DeviceSession[] = [];
const clients: mqtt.MqttClient[] = [];
const runtimes: SimDeviceRuntime[] = [];
const attempts: number[] = [];
const reconnectedAt: number[] = [];
/** `workload@revision` → `device/instance` → first time its report said running and ready (epoch ms). */
const firstRunning = new Map<string, Map<string, number>>();

function noteRunning(deviceId: string, report: ReportedState): void {
  const at = Date.now();
  for (const i of report.instances) {
    if (i.phase !== 'running' || !i.ready) continue;
    const key = `${i.workload}@${i.revision}`;
    let devices = firstRunning.get(key);
    if (!devices) firstRunning.set(key, (devices = new Map()));
    const instance = `${deviceId}/${i.id}`;
    if (!devices.has(instance)) devices.set(instance, at);
  }
}

/** Join latency of each device that came online (ms), for the registration bench's p50/p99. */
const joinMs: number[] = [];

async function simulateDevice(job: WorkerJob, index: number, counters: { registered: number; online: number; retries: number }): Promise<void> {
  const startedAt = performance.now();
  if (job.mode === 'bare-connect') {
    const client = await mqtt.connectAsync(job.brokerUrl, { clientId: `bare-${index}`, reconnectPeriod: 0, writeCache: false, keepalive: 300 });
    await client.subscribeAsync(`bare/${index}/desired`, { qos: 1 });
    clients.push(client);
    counters.registered += 1;
    counters.online += 1;
    return;
  }
  const facts = simulatedFacts(index);
  // Real agents retry a failed join with backoff (identity/enroll.ts); so do simulated ones.
  let granted;
  const { key } = generateDeviceKey();
  for (let attempt = 1; ; attempt++) {
    try {
      granted = await joinFleet({ brokerUrl: job.brokerUrl, token: job.token, hardwareId: `sim-hardware-${index}`, key, hostname: facts.hostname, agentVersion: 'sim', facts, connect: mqtt.connect, log });
      break;
    } catch (err) {
      if (attempt >= (job.joinAttempts ?? 5)) throw err;
      counters.retries += 1;
      await new Promise((r) => setTimeout(r, 500 * 2 ** Math.min(attempt, 5)));
    }
  }
  counters.registered += 1;
  const fleet = job.mode === 'fleet';
  // The agent's own session: what it does after a lost connection is what a restart storm measures.
  const connect: ConnectMqtt = (url, options) => {
    const client = mqtt.connect(url, options);
    if (fleet) client.on('reconnect', () => attempts.push(Date.now()));
    return client;
  };
  const session = new DeviceSession({
    brokerUrl: job.brokerUrl,
    deviceId: granted.deviceId,
    password: granted.password,
    keepaliveSeconds: 300,
    agentVersion: 'sim',
    bootId: 'sim',
    connect,
    log,
    ...(job.reconnect ? { reconnectBackoff: job.reconnect.backoff, ...(job.reconnect.fixed ? { random: () => 0.999999 } : {}) } : {}),
  });
  if (fleet) {
    let first = true;
    session.on('connected', () => {
      if (!first) {
        reconnectedAt.push(Date.now());
        // Like the agent's facts reporter: facts again after a reconnect.
        void session.publishState('facts', facts, true).catch(() => false);
      }
      first = false;
    });
  }
  // Attached before start, so the retained desired document is never missed (as in the agent).
  runtimes.push(attachSimDeviceRuntime(session, { onReported: (report) => noteRunning(session.deviceId, report) }));
  await new Promise<void>((resolve) => {
    session.once('connected', () => resolve());
    session.start();
  });
  await session.publishState('facts', facts, true);
  sessions.push(session);
  counters.online += 1;
  joinMs.push(performance.now() - startedAt);
}

function statsReport(): WorkerReport {
  const total = { devices: runtimes.length, desiredMessages: 0, desiredBytes: 0, reportsSent: 0, reportBytes: 0, dropped: 0 };
  for (const r of runtimes) {
    total.desiredMessages += r.stats.desiredMessages;
    total.desiredBytes += r.stats.desiredBytes;
    total.reportsSent += r.stats.reportsSent;
    total.reportBytes += r.stats.reportBytes;
    total.dropped += r.stats.dropped;
  }
  return { type: 'stats', ...total };
}

process.on('message', (message: WorkerJob | WorkerRequest) => {
  if ('type' in message) {
    if (message.type === 'stats') process.send?.(statsReport());
    if (message.type === 'arrivals') {
      const since = message.since;
      process.send?.({ type: 'arrivals', attempts: attempts.filter((t) => t >= since), connected: reconnectedAt.filter((t) => t >= since) } satisfies WorkerReport);
    }
    if (message.type === 'running') {
      const seen = firstRunning.get(`${message.workload}@${message.revision}`);
      const times = message.countOnly ? [] : [...(seen?.values() ?? [])];
      process.send?.({ type: 'running', workload: message.workload, revision: message.revision, count: seen?.size ?? 0, times } satisfies WorkerReport);
    }
    return;
  }
  const job = message;
  void (async () => {
    const counters = { registered: 0, online: 0, retries: 0 };
    const failures: string[] = [];
    // The parent may be gone (a bench that gave up): then there is nobody to tell.
    const timer = setInterval(() => (process.connected ? process.send?.({ type: 'progress', ...counters } satisfies WorkerReport) : process.exit(0)), 250);
    let next = job.first;
    const end = job.first + job.count;
    const lane = async (): Promise<void> => {
      while (next < end) {
        const index = next++;
        await simulateDevice(job, index, counters).catch((err: unknown) => failures.push(`${index}: ${(err as Error).message}`));
      }
    };
    await Promise.all(Array.from({ length: job.concurrency }, lane));
    clearInterval(timer);
    process.send?.({ type: 'done', ...counters, failures: failures.slice(0, 5), joinMs } satisfies WorkerReport);
  })();
});

process.on('SIGTERM', () => {
  for (const r of runtimes) r.stop();
  for (const c of clients) c.end(true);
  process.exit(0);
});
