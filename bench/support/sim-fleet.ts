// A simulated fleet that stays: worker processes (fleet-worker.ts, mode `fleet`) register their
// devices, then keep them connected, healthy and reconnecting until stop().
import { fork, type ChildProcess } from 'node:child_process';
import type { WorkerJob, WorkerReport, WorkerRequest } from '../fleet-worker.js';
import { cpuSeconds } from './proc.js';

export interface SimFleet {
  /** Seconds from the first fork until every device was registered and online. */
  registeredSeconds: number;
  retries: number;
  /** Reconnect attempts and completed reconnections (epoch ms) of all devices since `since`. */
  arrivals(since: number): Promise<{ attempts: number[]; connected: number[] }>;
  /** Messages the simulated devices received (desired documents) and sent (reports), in total. */
  counters(): Promise<SimCounters>;
  cpuSeconds(): number;
  stop(): Promise<void>;
}

export interface SimCounters {
  received: number;
  receivedBytes: number;
  published: number;
  publishedBytes: number;
}

type WorkerAnswer = Extract<WorkerReport, { type: 'arrivals' | 'stats' }>;

export interface SimFleetOptions {
  brokerUrl: string;
  token: string;
  devices: number;
  workers: number;
  concurrency: number;
  reconnect?: WorkerJob['reconnect'];
  /** Join attempts per device before the fleet fails (default 5; a real agent never gives up). */
  joinAttempts?: number;
}

export async function startSimFleet(options: SimFleetOptions): Promise<SimFleet> {
  const { devices, workers } = options;
  const children: ChildProcess[] = [];
  const done = new Map<number, Extract<WorkerReport, { type: 'done' }>>();
  const failures: string[] = [];
  const start = performance.now();
  const per = Math.ceil(devices / workers);
  const pending = new Map<ChildProcess, (answer: WorkerAnswer) => void>();
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  for (let w = 0; w < workers; w++) {
    const child = fork(new URL('../fleet-worker.js', import.meta.url), [], { stdio: 'inherit' });
    children.push(child);
    child.on('message', (message: WorkerReport | WorkerAnswer) => {
      if (message.type === 'done') {
        done.set(w, message);
        failures.push(...message.failures);
        if (done.size === workers) finished();
      } else if (message.type === 'arrivals' || message.type === 'stats') {
        pending.get(child)?.(message);
        pending.delete(child);
      }
    });
    const job: WorkerJob = { mode: 'fleet', brokerUrl: options.brokerUrl, token: options.token, first: w * per, count: Math.max(0, Math.min(per, devices - w * per)), concurrency: options.concurrency, ...(options.reconnect ? { reconnect: options.reconnect } : {}), ...(options.joinAttempts ? { joinAttempts: options.joinAttempts } : {}) };
    child.send(job);
  }
  await allDone;
  const registeredSeconds = (performance.now() - start) / 1000;
  const stop = async (): Promise<void> => {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))));
  };
  if (failures.length > 0) {
    await stop();
    throw new Error(`simulated devices failed to register (first ${failures.length}):\n  ${failures.join('\n  ')}`);
  }
  const ask = (query: WorkerRequest): Promise<WorkerAnswer[]> =>
    Promise.all(
      children.map(
        (child) =>
          new Promise<WorkerAnswer>((resolve) => {
            pending.set(child, resolve);
            child.send(query);
          }),
      ),
    );
  return {
    registeredSeconds,
    retries: [...done.values()].reduce((sum, r) => sum + r.retries, 0),
    async arrivals(since) {
      const answers = await ask({ type: 'arrivals', since });
      const attempts: number[] = [];
      const connected: number[] = [];
      for (const a of answers) {
        if (a.type !== 'arrivals') continue;
        attempts.push(...a.attempts);
        connected.push(...a.connected);
      }
      return { attempts, connected };
    },
    async counters() {
      const answers = await ask({ type: 'stats' });
      const total: SimCounters = { received: 0, receivedBytes: 0, published: 0, publishedBytes: 0 };
      for (const a of answers) {
        if (a.type !== 'stats') continue;
        total.received += a.desiredMessages;
        total.receivedBytes += a.desiredBytes;
        total.published += a.reportsSent;
        total.publishedBytes += a.reportBytes;
      }
      return total;
    },
    cpuSeconds: () => children.reduce((sum, c) => sum + (c.pid && c.exitCode === null ? cpuSeconds(c.pid) : 0), 0),
    stop,
  };
}

/** Arrivals per `bucketMs` from `from`, as lines with a bar each (empty buckets included). */
export function histogram(times: number[], from: number, bucketMs: number): string[] {
  if (times.length === 0) return ['(none)'];
  const buckets: number[] = [];
  for (const t of times) {
    const b = Math.max(0, Math.floor((t - from) / bucketMs));
    buckets[b] = (buckets[b] ?? 0) + 1;
  }
  const max = Math.max(...buckets.map((b) => b ?? 0));
  return Array.from(buckets, (count = 0, i) => `${((i * bucketMs) / 1000).toFixed(2).padStart(6)} s ${String(count).padStart(6)} ${'█'.repeat(Math.round((count / max) * 50))}`);
}
