// A child process that simulates a slice of the fleet with the agent's own protocol code
// (joinFleet, DeviceSession): `fork('fleet-worker.js')`, then one message with the job.
import mqtt from 'mqtt';
import { createLogger } from '../src/common/log.js';
import { generateDeviceKey } from '../src/device-agent/identity/device-key.js';
import { joinFleet } from '../src/device-agent/identity/join.js';
import { DeviceSession } from '../src/device-agent/session/device-session.js';
import { simulatedFacts } from './support/sim-facts.js';
import { SimHealthyDevice, type SimCounters } from './support/sim-rollout-health.js';
import type { ConnectMqtt } from '../src/device-agent/session/mqtt-connect.js';
import type { ReconnectBackoff } from '../src/device-agent/session/reconnect-backoff.js';

export interface WorkerJob {
  /** `fleet`: register, then stay: follow desired state (healthy), reconnect with the stored credentials. */
  mode: 'register' | 'bare-connect' | 'fleet';
  brokerUrl: string;
  token: string;
  first: number;
  count: number;
  concurrency: number;
  /** Overrides the agent's reconnect backoff (a fixed period for comparison: base = cap, random = 1). */
  reconnect?: { backoff: ReconnectBackoff; fixed: boolean };
}

/** Asked by the parent while a fleet runs. */
export type WorkerQuery = { type: 'arrivals'; since: number } | { type: 'counters' };
/** Epoch ms of reconnect attempts and of completed (re)connections since `since`. */
export type WorkerAnswer = { type: 'arrivals'; attempts: number[]; connected: number[] } | { type: 'counters'; counters: SimCounters; devices: number };

export type WorkerReport = { type: 'progress'; registered: number; online: number; retries: number } | { type: 'done'; registered: number; online: number; retries: number; failures: string[] };

const log = createLogger('sim', 'error');
const sessions: DeviceSession[] = [];
const clients: mqtt.MqttClient[] = [];
const simCounters: SimCounters = { received: 0, published: 0 };
const attempts: number[] = [];
const connectedAt: number[] = [];

async function simulateDevice(job: WorkerJob, index: number, counters: { registered: number; online: number; retries: number }): Promise<void> {
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
      if (attempt >= 5) throw err;
      counters.retries += 1;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
  counters.registered += 1;
  const fleet = job.mode === 'fleet';
  // The agent's own session: what it does after a lost connection is what the storm measures.
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
    new SimHealthyDevice(session, simCounters);
    let first = true;
    session.on('connected', () => {
      if (!first) {
        connectedAt.push(Date.now());
        // Like the agent's FactsReporter: facts again after a reconnect.
        void session.publishState('facts', facts, true).then((sent) => sent && (simCounters.published += 1));
      }
      first = false;
    });
  }
  await new Promise<void>((resolve) => {
    session.once('connected', () => resolve());
    session.start();
  });
  await session.publishState('facts', facts, true);
  sessions.push(session);
  counters.online += 1;
}

process.on('message', (message: WorkerJob | WorkerQuery) => {
  if ('type' in message) {
    if (message.type === 'arrivals') {
      process.send?.({ type: 'arrivals', attempts: attempts.filter((t) => t >= message.since), connected: connectedAt.filter((t) => t >= message.since) } satisfies WorkerAnswer);
    } else process.send?.({ type: 'counters', counters: simCounters, devices: sessions.length } satisfies WorkerAnswer);
    return;
  }
  const job = message;
  void (async () => {
    const counters = { registered: 0, online: 0, retries: 0 };
    const failures: string[] = [];
    const timer = setInterval(() => process.send?.({ type: 'progress', ...counters } satisfies WorkerReport), 250);
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
    process.send?.({ type: 'done', ...counters, failures: failures.slice(0, 5) } satisfies WorkerReport);
  })();
});

process.on('SIGTERM', () => {
  for (const c of clients) c.end(true);
  process.exit(0);
});
