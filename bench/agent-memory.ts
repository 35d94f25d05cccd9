// `npm run bench -- agent-memory`: where a joined agent's resident memory is. One hub, one real
// agent (Docker present if dockerd answers), RSS after --wait seconds idle, then with --containers N
// containers running, then with --cronjobs N CronJobs ticking (at least 25 s). Each figure is broken down by mapping
// (the node binary by ELF section, the ICU data inside it, anonymous memory) and by V8 heap space
// (from a Node diagnostic report the agent writes on SIGUSR2). The baseline, measured in the same
// run, is bare Node 20 idling with the same flags.
// Options: --wait S (10), --containers N (0), --cronjobs N (0), --time-zone Z (the CronJobs' zone; UTC),
// --agent-node-flags="<flags>" (the agent's own by default).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, promisify } from 'node:util';
import { AGENT_NODE_FLAGS } from '../src/common/agent-node-flags.js';
import { repoRoot, startBenchHub } from './support/hub-process.js';
import { memoryBreakdown } from './support/memory-map.js';
import { mb, rssBytes } from './support/proc.js';

const exec = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load = (): string => loadavg().map((l) => l.toFixed(1)).join(' ');

interface HeapSpace {
  spaceName: string;
  memorySize: number;
  used: number;
}

/** The process's V8 heap spaces from a diagnostic report it writes on SIGUSR2. */
async function heapSpaces(child: ChildProcess, dir: string): Promise<{ spaces: HeapSpace[]; external?: number } | undefined> {
  const before = new Set(await readdir(dir));
  child.kill('SIGUSR2');
  for (let i = 0; i < 100; i++) {
    await sleep(100);
    const fresh = (await readdir(dir)).filter((f) => f.startsWith('report') && !before.has(f));
    if (fresh[0] === undefined) continue;
    try {
      const report = JSON.parse(await readFile(join(dir, fresh[0]), 'utf8')) as { javascriptHeap: { heapSpaces: Record<string, { memorySize: number; used: number }> }; resourceUsage?: unknown };
      return { spaces: Object.entries(report.javascriptHeap.heapSpaces).map(([spaceName, s]) => ({ spaceName, memorySize: s.memorySize, used: s.used })) };
    } catch {
      // Still being written.
    }
  }
  return undefined;
}

function printBreakdown(label: string, pid: number, heap: { spaces: HeapSpace[] } | undefined): void {
  const total = rssBytes(pid);
  console.log(`\n${label}: RSS ${mb(total)}`);
  const parts = [...memoryBreakdown(pid)].sort((a, b) => b[1] - a[1]);
  for (const [k, v] of parts) if (v >= 64 * 1024) console.log(`  ${k.padEnd(62)} ${mb(v).padStart(9)}`);
  if (heap) {
    const committed = heap.spaces.reduce((s, x) => s + x.memorySize, 0);
    const used = heap.spaces.reduce((s, x) => s + x.used, 0);
    console.log(`  V8 heap (inside the anonymous memory): committed ${mb(committed)}, used ${mb(used)}`);
    for (const s of heap.spaces.filter((x) => x.memorySize > 0)) console.log(`    ${s.spaceName.padEnd(28)} committed ${mb(s.memorySize).padStart(9)}, used ${mb(s.used).padStart(9)}`);
  }
}

const reportFlags = (dir: string): string[] => ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${dir}`, '--report-compact'];

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      wait: { type: 'string', default: '10' },
      cronjobs: { type: 'string', default: '0' },
      'time-zone': { type: 'string', default: 'UTC' },
      containers: { type: 'string', default: '0' },
      'agent-node-flags': { type: 'string', default: AGENT_NODE_FLAGS.join(' ') },
    },
  });
  const waitMs = Number(values.wait) * 1000;
  const cronCount = Number(values.cronjobs);
  const containerCount = Number(values.containers);
  const nodeFlags = values['agent-node-flags'].split(/\s+/).filter((f) => f !== '');
  console.log(`load average at start: ${load()}; node ${process.version}; flags: ${nodeFlags.join(' ') || '(none)'}`);
  const dir = await mkdtemp(join(tmpdir(), 'ep-bench-mem-'));
  const hub = await startBenchHub();
  // The baseline: bare Node with the same flags, idling on a timer.
  const bare = spawn(process.execPath, [...nodeFlags, ...reportFlags(dir), '-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const token = await hub.api<{ token: string }>('POST', '/v1/tokens', { ttlSeconds: 600, maxUses: 1, labels: { bench: 'yes' } });
  const agent = spawn(
    process.execPath,
    [...nodeFlags, ...reportFlags(dir), join(repoRoot, 'bin', 'edgepilot.js'), 'agent', '--hub', hub.apiUrl, '--join-token', token.token, '--state-dir', join(dir, 'state'), '--hardware-id', `bench-mem-${Date.now()}`, '--log-level', 'warn'],
    { stdio: 'ignore' },
  );
  try {
    await sleep(waitMs);
    const rows: [string, number][] = [['bare Node (baseline)', rssBytes(bare.pid!)], ['agent idle', rssBytes(agent.pid!)]];
    printBreakdown('bare Node (baseline)', bare.pid!, await heapSpaces(bare, dir));
    printBreakdown('agent idle', agent.pid!, await heapSpaces(agent, dir));
    if (containerCount > 0) {
      await hub.api('POST', '/v1/apply', {
        manifests: [{
          apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name: 'bench-mem-ctr' },
          spec: { replicas: containerCount, selector: { matchLabels: { bench: 'yes' } }, template: { runtime: 'container', image: 'local/busybox:latest', command: ['sleep', '100000'], terminationGracePeriodSeconds: 1 } },
        }],
      });
      const deadline = Date.now() + 180_000;
      for (;;) {
        const detail = await hub.api<{ status: { instances: { phase: string }[] } }>('GET', '/v1/workloads/bench-mem-ctr');
        if (detail.status.instances.filter((i) => i.phase === 'running').length >= containerCount) break;
        if (Date.now() > deadline) throw new Error(`${containerCount} containers not running after 3 minutes`);
        await sleep(250);
      }
      await sleep(waitMs);
      rows.push([`agent with ${containerCount} containers`, rssBytes(agent.pid!)]);
      printBreakdown(`agent with ${containerCount} containers`, agent.pid!, await heapSpaces(agent, dir));
      await hub.api('DELETE', '/v1/workloads/bench-mem-ctr');
      // The agent removes them; wait for that, so none outlives the bench.
      for (let i = 0; i < 240; i++) {
        const { stdout } = await exec('docker', ['ps', '-aq', '--filter', 'label=io.edgepilot.workload=bench-mem-ctr']);
        if (stdout.trim() === '') break;
        await sleep(250);
      }
    }
    if (cronCount > 0) {
      const cronJobs = Array.from({ length: cronCount }, (_, i) => ({
        apiVersion: 'edgepilot.io/v1', kind: 'CronJob', metadata: { name: `bench-cron-${i}` },
        spec: { schedule: `${i % 10}-59/10 * * * * *`, timeZone: values['time-zone'], selector: { matchLabels: { bench: 'yes' } }, jobTemplate: { template: { runtime: 'process', command: ['sh', '-c', 'echo tick'] } } },
      }));
      await hub.api('POST', '/v1/apply', { manifests: cronJobs });
      await sleep(Math.max(waitMs, 25_000));
      rows.push([`agent with ${cronCount} CronJobs (${values['time-zone']})`, rssBytes(agent.pid!)]);
      printBreakdown(`agent with ${cronCount} CronJobs (${values['time-zone']})`, agent.pid!, await heapSpaces(agent, dir));
    }
    console.log('');
    const base = rows[0]![1];
    for (const [k, v] of rows) console.log(`${k.padEnd(32)} ${mb(v).padStart(9)}  (${(v / base).toFixed(2)}× bare Node)`);
    console.log(`load average at the end: ${load()}`);
  } finally {
    bare.kill('SIGKILL');
    agent.kill('SIGTERM');
    await new Promise((r) => (agent.exitCode === null ? agent.once('exit', r) : r(undefined)));
    await hub.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
