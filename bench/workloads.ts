// `npm run bench -- workloads`: apply→running latency for 50 process instances and 10
// containers on one real agent, and the agent's RSS idle and busy.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { repoRoot, startBenchHub, type BenchHub } from './support/hub-process.js';
import { mb, rssBytes } from './support/proc.js';

const exec = promisify(execFile);

interface InstanceView {
  id: string;
  phase: string;
  device: string;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Applies a workload and records, per instance, when the hub first saw it running. */
async function applyAndTime(hub: BenchHub, manifest: unknown, name: string, count: number): Promise<number[]> {
  const start = performance.now();
  await hub.api('POST', '/v1/apply', { manifests: [manifest] });
  const seen = new Map<string, number>();
  const deadline = Date.now() + 180_000;
  while (seen.size < count) {
    if (Date.now() > deadline) throw new Error(`${name}: only ${seen.size}/${count} running after 3 minutes`);
    const detail = await hub.api<{ status: { instances: InstanceView[] } }>('GET', `/v1/workloads/${name}`);
    const now = performance.now();
    for (const i of detail.status.instances) if (i.phase === 'running' && !seen.has(i.id)) seen.set(i.id, now - start);
    await new Promise((r) => setTimeout(r, 25));
  }
  return [...seen.values()].sort((a, b) => a - b);
}

/** The same starts without edgepilot, in this run: the floor the orchestration adds to. */
async function baseline(processes: number, containers: number): Promise<{ process: number[]; container: number[] }> {
  const process: number[] = [];
  const t0 = performance.now();
  const children = Array.from({ length: processes }, () => {
    const child = spawn('sh', ['-c', 'sleep 600'], { detached: true, stdio: 'ignore' });
    process.push(performance.now() - t0);
    return child;
  });
  for (const c of children) c.kill('SIGKILL');
  const container: number[] = [];
  const c0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < containers; i++) {
    const { stdout } = await exec('docker', ['run', '-d', '--init', '--network', 'host', 'local/busybox:latest', 'sleep', '600']);
    ids.push(stdout.trim());
    container.push(performance.now() - c0);
  }
  await exec('docker', ['rm', '-f', ...ids]);
  return { process, container };
}

const fmt = (ms: number): string => (Number.isNaN(ms) ? 'n/a' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { processes: { type: 'string', default: '50' }, containers: { type: 'string', default: '10' } } });
  const processes = Number(values.processes);
  const containers = Number(values.containers);
  const hub = await startBenchHub();
  const dir = await mkdtemp(join(tmpdir(), 'ep-bench-wl-'));
  const token = await hub.api<{ token: string }>('POST', '/v1/tokens', { ttlSeconds: 600, maxUses: 1, labels: { bench: 'yes' } });
  const agent = spawn(process.execPath, [join(repoRoot, 'bin', 'edgepilot.js'), 'agent', '--hub', hub.apiUrl, '--join-token', token.token, '--state-dir', dir, '--hardware-id', `bench-wl-${Date.now()}`, '--log-level', 'warn'], { stdio: 'ignore' });
  try {
    await new Promise((r) => setTimeout(r, 10_000));
    const idle = agent.pid ? rssBytes(agent.pid) : 0;
    const procTimes = await applyAndTime(hub, {
      apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'bench-proc' },
      spec: { replicas: processes, selector: { matchLabels: { bench: 'yes' } }, template: { runtime: 'process', command: ['sh', '-c', 'exec sleep 100000'] } },
    }, 'bench-proc', processes);
    const busyProcesses = agent.pid ? rssBytes(agent.pid) : 0;
    await hub.api('DELETE', '/v1/workloads/bench-proc');
    await new Promise((r) => setTimeout(r, 5000));
    const containerTimes = await applyAndTime(hub, {
      apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'bench-ctr' },
      spec: { replicas: containers, selector: { matchLabels: { bench: 'yes' } }, template: { runtime: 'container', image: 'local/busybox:latest', command: ['sleep', '100000'], terminationGracePeriodSeconds: 1 } },
    }, 'bench-ctr', containers);
    await new Promise((r) => setTimeout(r, 5000));
    const busy = agent.pid ? rssBytes(agent.pid) : 0;
    await hub.api('DELETE', '/v1/workloads/bench-ctr');
    await new Promise((r) => setTimeout(r, 8000));
    // 20 CronJobs scheduled on the agent (issue 9): one node-cron ticker, a ledger each, short runs firing.
    const cronJobs = Array.from({ length: 20 }, (_, i) => ({
      apiVersion: 'edgepilot.io/v1', kind: 'CronJob', metadata: { name: `bench-cron-${i}` },
      spec: { schedule: `${i % 10}-59/10 * * * * *`, selector: { matchLabels: { bench: 'yes' } }, jobTemplate: { template: { runtime: 'process', command: ['sh', '-c', 'echo tick'] } } },
    }));
    await hub.api('POST', '/v1/apply', { manifests: cronJobs });
    await new Promise((r) => setTimeout(r, 25_000));
    const busyCron = agent.pid ? rssBytes(agent.pid) : 0;
    for (const c of cronJobs) await hub.api('DELETE', `/v1/cronjobs/${c.metadata.name}`);
    const base = await baseline(processes, containers);
    const rows: [string, string][] = [
      ['agent RSS idle', `${mb(idle)} (goal ≤ 50 MB)`],
      [`agent RSS with ${containers} containers running`, `${mb(busy)} (goal ≤ 64 MB)`],
      [`agent RSS with ${processes} processes running`, mb(busyProcesses)],
      ['agent RSS with 20 CronJobs scheduled', `${mb(busyCron)} (goal ≤ 64 MB)`],
      [`apply→running, ${processes} processes`, `p50 ${fmt(percentile(procTimes, 50))}, p99 ${fmt(percentile(procTimes, 99))}, last ${fmt(procTimes.at(-1) ?? NaN)}`],
      [`apply→running, ${containers} containers`, `p50 ${fmt(percentile(containerTimes, 50))}, p99 ${fmt(percentile(containerTimes, 99))}, last ${fmt(containerTimes.at(-1) ?? NaN)}`],
      [`baseline: ${processes} bare spawns`, `last after ${fmt(base.process.at(-1) ?? NaN)}`],
      [`baseline: ${containers} sequential docker run -d`, `last after ${fmt(base.container.at(-1) ?? NaN)} (ratio edgepilot/bare: ${((containerTimes.at(-1) ?? 0) / (base.container.at(-1) ?? 1)).toFixed(2)})`],
    ];
    for (const [k, v] of rows) console.log(`${k.padEnd(44)} ${v}`);
    console.log('\nanchor: Kubernetes pod start-up SLO, p99 ≤ 5 s without image pull (latency from the hub seeing the apply to it seeing the instance running)');
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
