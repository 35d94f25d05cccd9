import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/common/log.js';
import { createProcessRuntime } from '../../src/device-agent/runtime/process-runtime.js';
import { desiredInstanceSchema, type DesiredInstance } from '../../src/protocol/index.js';
import { makeTempDir } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

/**
 * An agent SIGKILLed at any instant of a process start (the nemesis harness found one between
 * the spawn and the record write) must leave no program that a restarted agent cannot adopt,
 * and no folder that makes the next start of the same instance fail with "already exists".
 */

const runId = randomBytes(3).toString('hex');
const deviceId = `test-${runId}`;
const log = createLogger('interrupted-start-test', 'error', (line) => console.error(line));
const noAbort = (): AbortSignal => new AbortController().signal;

/** Pids of live (non-zombie) processes whose environment names the instance: what `ps` would show of it. */
async function processesOf(instanceId: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const state = (await readFile(`/proc/${entry}/stat`, 'utf8')).split(') ')[1]?.[0];
      const env = (await readFile(`/proc/${entry}/environ`, 'utf8')).split('\0');
      if (state !== 'Z' && env.includes(`EDGEPILOT_INSTANCE=${instanceId}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Runs an agent that starts `desired` and SIGKILLs itself at `point` of the start. */
async function agentKilledAt(stateDir: string, desired: DesiredInstance, point: string): Promise<void> {
  const runtimeUrl = new URL('../../src/device-agent/runtime/process-runtime.js', import.meta.url).href;
  const logUrl = new URL('../../src/common/log.js', import.meta.url).href;
  const agentCode = `
    const { createProcessRuntime } = await import(${JSON.stringify(runtimeUrl)});
    const { createLogger } = await import(${JSON.stringify(logUrl)});
    const rt = createProcessRuntime({
      stateDir: ${JSON.stringify(stateDir)}, deviceId: ${JSON.stringify(deviceId)}, log: createLogger('agent', 'error'),
      startFaultPoint: (at) => { if (at === ${JSON.stringify(point)}) process.kill(process.pid, 'SIGKILL'); },
    });
    await rt.start(${JSON.stringify(desired)}, new AbortController().signal);
    console.log('start returned');`;
  const agent = spawn(process.execPath, ['--input-type=module', '-e', agentCode], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('.', import.meta.url)) });
  let out = '';
  agent.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => agent.once('exit', (_code, sig) => resolve(sig)));
  if (signal !== 'SIGKILL') throw new Error(`the agent was to die of SIGKILL at "${point}", but exited (${signal ?? 'no signal'}; stdout: ${out.trim()})`);
}

for (const point of ['spawned', 'recorded'] as const) {
  test(`an agent killed at "${point}" leaves no process of the instance, and the instance can be started again`, async (t) => {
    const dir = await makeTempDir('ep-interrupted-start-');
    const witness = join(dir.path, 'ran');
    const desired = desiredInstanceSchema.parse({
      id: `interrupted-${point}-${runId}`,
      workload: 'wl-interrupted',
      revision: randomBytes(8).toString('hex'),
      template: { runtime: 'process', command: ['sh', '-c', `echo ran >> ${witness}; exec sleep 60`], terminationGracePeriodSeconds: 1 },
    });
    t.teardown(async () => {
      killAll(await processesOf(desired.id));
      await dir.remove();
    });

    await agentKilledAt(dir.path, desired, point);
    const restarted = createProcessRuntime({ stateDir: dir.path, deviceId, log });
    t.teardown(() => restarted.close());
    const folder = join(dir.path, 'processes', `${desired.id}-${desired.revision.slice(0, 8)}`);
    // The restarted agent lists until the leftover folder is settled (its gate may take a moment to see the agent gone).
    await waitFor('the leftover folder to be cleaned up', async () => {
      const listed = await restarted.list();
      return !listed.some((o) => o.id === desired.id) && (await stat(folder).then(() => false, () => true));
    }, 10_000);
    await waitFor('no process of the instance', async () => (await processesOf(desired.id)).length === 0, 10_000);
    await t.throwsAsync(stat(witness), { code: 'ENOENT' }, 'the program never ran');

    const again = await restarted.start(desired, noAbort());
    t.like(again, { state: 'running', id: desired.id });
    await waitFor('the program to run', () => stat(witness).then(() => true, () => false));
    t.deepEqual(await processesOf(desired.id), [again.pid ?? -1]);
    await restarted.stop(desired.id, desired.revision, 1, noAbort());
    await restarted.remove(desired.id, desired.revision);
  });
}

test('a start over a leftover folder without a record cleans it up instead of failing with "already exists"', async (t) => {
  const dir = await makeTempDir('ep-interrupted-start-');
  const desired = desiredInstanceSchema.parse({
    id: `leftover-${runId}`,
    workload: 'wl-leftover',
    revision: randomBytes(8).toString('hex'),
    template: { runtime: 'process', command: ['sleep', '60'], terminationGracePeriodSeconds: 1 },
  });
  t.teardown(async () => {
    killAll(await processesOf(desired.id));
    await dir.remove();
  });
  // Left by an agent that died between creating the folder and writing the record into it.
  const folder = join(dir.path, 'processes', `${desired.id}-${desired.revision.slice(0, 8)}`);
  await mkdir(folder, { recursive: true });
  const { ctimeMs } = await stat(folder);
  await waitFor('the clock to pass the folder change', () => Date.now() > ctimeMs, 5_000, 5);
  const rt = createProcessRuntime({ stateDir: dir.path, deviceId, log });
  t.teardown(() => rt.close());
  const started = await rt.start(desired, noAbort());
  t.like(started, { state: 'running' });
  await t.throwsAsync(rt.start(desired, noAbort()), { message: /already exists/ }, 'a running instance is not a leftover');
  await rt.stop(desired.id, desired.revision, 1, noAbort());
  await rt.remove(desired.id, desired.revision);
});

test('a gate killed before its release (a stop during the start) ends the start as an exit, not a hang', async (t) => {
  const dir = await makeTempDir('ep-interrupted-start-');
  const desired = desiredInstanceSchema.parse({
    id: `killed-gate-${runId}`,
    workload: 'wl-killed-gate',
    revision: randomBytes(8).toString('hex'),
    template: { runtime: 'process', command: ['sleep', '60'], terminationGracePeriodSeconds: 1 },
  });
  const folder = join(dir.path, 'processes', `${desired.id}-${desired.revision.slice(0, 8)}`);
  const rt = createProcessRuntime({
    stateDir: dir.path,
    deviceId,
    log,
    startFaultPoint: async (point) => {
      if (point !== 'recorded') return;
      const { pid } = JSON.parse(await readFile(join(folder, 'instance.json'), 'utf8')) as { pid: number };
      process.kill(pid, 'SIGKILL');
      await waitFor('the gate to be gone', async () => (await processesOf(desired.id)).length === 0);
    },
  });
  t.teardown(async () => {
    await rt.close();
    killAll(await processesOf(desired.id));
    await dir.remove();
  });
  const started = await rt.start(desired, noAbort());
  t.like(started, { state: 'exited', exitCode: 137 });
  t.deepEqual(await processesOf(desired.id), []);
  await rt.remove(desired.id, desired.revision);
});
