// `npm run bench -- workloads`: apply→running latency for 50 process instances and 10
// containers on one real agent, and the agent's RSS idle, busy and with 20 CronJobs.
// Options: --processes N --containers N --cronjobs N (0 skips a case), --parallel-starts N (the
// agent's bound), --agent-node-flags="<flags>" ("" runs the agent without src/common/agent-node-flags.ts).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { repoRoot, startBenchHub, type BenchHub } from './support/hub-process.js';
import { cpuSeconds, mb, rssBytes } from './support/proc.js';
import { AGENT_NODE_FLAGS } from '../src/common/agent-node-flags.js';

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
function processBaseline(processes: number): number[] {
  const process: number[] = [];
  const t0 = performance.now();
  const children = Array.from({ length: processes }, () => {
    const child = spawn('sh', ['-c', 'sleep 600'], { detached: true, stdio: 'ignore' });
    process.push(performance.now() - t0);
    return child;
  });
  for (const c of children) c.kill('SIGKILL');
  return process;
}

/** Ten sequential `docker run -d` (what the agent did before starts ran concurrently), timed to each start. */
async function containerBaseline(containers: number): Promise<number[]> {
  const container: number[] = [];
  const c0 = performance.now();
  const ids: string[] = [];
  for (let i = 0; i < containers; i++) {
    const { stdout } = await exec('docker', ['run', '-d', '--init', '--network', 'host', 'local/busybox:latest', 'sleep', '600']);
    ids.push(stdout.trim());
    container.push(performance.now() - c0);
  }
  if (ids.length > 0) await exec('docker', ['rm', '-f', ...ids]);
  return container;
}

const fmt = (ms: number): string => (Number.isNaN(ms) ? 'n/a' : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      processes: { type: 'string', default: '50' },
      containers: { type: 'string', default: '10' },
      cronjobs: { type: 'string', default: '20' },
      'parallel-starts': { type: 'string', default: '4' },
      'agent-node-flags': { type: 'string', default: AGENT_NODE_FLAGS.join(' ') },
    },
  });
  const processes = Number(values.processes);
  const containers = Number(values.containers);
  const cronCount = Number(values.cronjobs);
  const nodeFlags = values['agent-node-flags'].split(/\s+/).filter((f) => f !== '');
  console.log(`load average at start: ${load()}; agent: node ${nodeFlags.join(' ') || '(no flags)'}, --parallel-starts ${values['parallel-starts']}`);
  const hub = await startBenchHub();
  const dir = await mkdtemp(join(tmpdir(), 'ep-bench-wl-'));
  const token = await hub.api<{ token: string }>('POST', '/v1/tokens', { ttlSeconds: 600, maxUses: 1, labels: { bench: 'yes' } });
  const agent = spawn(
    process.execPath,
    [...nodeFlags, join(repoRoot, 'bin', 'edgepilot.js'), 'agent', '--hub', hub.apiUrl, '--join-token', token.token, '--state-dir', dir, '--hardware-id', `bench-wl-${Date.now()}`, '--log-level', 'warn', '--parallel-starts', values['parallel-starts']],
    { stdio: 'ignore' },
  );
  const rss = (): number => (agent.pid ? rssBytes(agent.pid) : 0);
  const rows: [string, string][] = [];
  try {
    await sleep(10_000);
    rows.push(['agent RSS idle', `${mb(rss())} (goal ≤ 50 MB)`]);
    if (processes > 0) {
      const cpuBefore = agent.pid ? cpuSeconds(agent.pid) : 0;
      const procTimes = await applyAndTime(hub, {
        apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'bench-proc' },
        spec: { replicas: processes, selector: { matchLabels: { bench: 'yes' } }, template: { runtime: 'process', command: ['sh', '-c', 'exec sleep 100000'] } },
      }, 'bench-proc', processes);
      const agentCpu = (agent.pid ? cpuSeconds(agent.pid) : 0) - cpuBefore;
      await sleep(5000);
      rows.push([`agent RSS with ${processes} processes running`, `${mb(rss())} (goal ≤ 64 MB)`]);
      await hub.api('DELETE', '/v1/workloads/bench-proc');
      const base = processBaseline(processes);
      rows.push([`apply→running, ${processes} processes`, `p50 ${fmt(percentile(procTimes, 50))}, p99 ${fmt(percentile(procTimes, 99))}, last ${fmt(procTimes.at(-1) ?? NaN)}`]);
      rows.push([`agent CPU during that apply`, `${agentCpu.toFixed(2)} s`]);
      rows.push([`baseline: ${processes} bare spawns`, `last after ${fmt(base.at(-1) ?? NaN)}`]);
      await sleep(5000);
    }
    if (containers > 0) {
      // The baseline right before the agent's starts, so both see the same machine load.
      const base = await containerBaseline(containers);
      const cpuBefore = agent.pid ? cpuSeconds(agent.pid) : 0;
      const containerTimes = await applyAndTime(hub, {
        apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'bench-ctr' },
        spec: { replicas: containers, selector: { matchLabels: { bench: 'yes' } }, template: { runtime: 'container', image: 'local/busybox:latest', command: ['sleep', '100000'], terminationGracePeriodSeconds: 1 } },
      }, 'bench-ctr', containers);
      const agentCpu = (agent.pid ? cpuSeconds(agent.pid) : 0) - cpuBefore;
      await sleep(5000);
      rows.push([`agent RSS with ${containers} containers running`, `${mb(rss())} (goal ≤ 64 MB)`]);
      await hub.api('DELETE', '/v1/workloads/bench-ctr');
      const last = containerTimes.at(-1) ?? NaN;
      const bare = base.at(-1) ?? NaN;
      const p50 = percentile(containerTimes, 50);
      const p99 = percentile(containerTimes, 99);
      rows.push([`apply→running, ${containers} containers`, `p50 ${fmt(p50)}, p99 ${fmt(p99)}, last ${fmt(last)} (each: ${containerTimes.map((t) => (t / 1000).toFixed(2)).join(' ')} s)`]);
      rows.push([`agent CPU during that apply`, `${agentCpu.toFixed(2)} s`]);
      rows.push([`baseline: ${containers} sequential docker run -d`, `last after ${fmt(bare)}`]);
      rows.push([`ratio edgepilot/bare (last running)`, `${(last / bare).toFixed(2)} (goal ≤ 0.6; p50 < p99: ${p50 < p99 ? 'yes' : 'no'})`]);
      await sleep(8000);
    }
    if (cronCount > 0) {
      // CronJobs scheduled on the agent (issue 9): one node-cron ticker, a ledger each, short runs firing.
      const cronJobs = Array.from({ length: cronCount }, (_, i) => ({
        apiVersion: 'edgepilot.io/v1', kind: 'CronJob', metadata: { name: `bench-cron-${i}` },
        spec: { schedule: `${i % 10}-59/10 * * * * *`, selector: { matchLabels: { bench: 'yes' } }, jobTemplate: { template: { runtime: 'process', command: ['sh', '-c', 'echo tick'] } } },
      }));
      await hub.api('POST', '/v1/apply', { manifests: cronJobs });
      await sleep(25_000);
      rows.push([`agent RSS with ${cronCount} CronJobs scheduled`, `${mb(rss())} (goal ≤ 64 MB)`]);
      for (const c of cronJobs) await hub.api('DELETE', `/v1/cronjobs/${c.metadata.name}`);
    }
    for (const [k, v] of rows) console.log(`${k.padEnd(44)} ${v}`);
    console.log(`load average at the end: ${load()}`);
    console.log('\nanchor: Kubernetes pod start-up SLO, p99 ≤ 5 s without image pull (latency from the hub seeing the apply to it seeing the instance running)');
  } finally {
    agent.kill('SIGTERM');
    await new Promise((r) => agent.once('exit', r));
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
