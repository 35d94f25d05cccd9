import test from 'ava';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '../../src/common/log.js';
import { createProcessRuntime } from '../../src/device-agent/runtime/process-runtime.js';
import type { InstanceRuntime, LogLine, LogOptions } from '../../src/device-agent/runtime/runtime.js';
import { desiredInstanceSchema, type DesiredInstance } from '../../src/protocol/index.js';
import { makeTempDir } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

const runId = randomBytes(3).toString('hex');
const deviceId = `test-${runId}`;
const log = createLogger('process-runtime-test', 'warn', (line) => console.error(line));
const cleanups: Array<() => Promise<void> | void> = [];
/** Every pid a test started, killed (as a group) at the end whatever happened. */
const startedPids = new Set<number>();
const noAbort = (): AbortSignal => new AbortController().signal;

let stateDir = '';
let runtime: InstanceRuntime;

test.before(async () => {
  const dir = await makeTempDir('ep-process-runtime-');
  cleanups.push(() => dir.remove());
  stateDir = dir.path;
  runtime = createProcessRuntime({ stateDir, deviceId, log, maxLogBytes: 4096 });
});

test.after.always(async () => {
  await runtime.close();
  for (const pid of startedPids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function instance(name: string, command: string[], extra: Record<string, unknown> = {}, workload = `wl-${name}`): DesiredInstance {
  return desiredInstanceSchema.parse({
    id: `${name}-${runId}`,
    workload,
    revision: randomBytes(8).toString('hex'),
    template: { runtime: 'process', command, terminationGracePeriodSeconds: 2, ...extra },
  });
}

async function start(rt: InstanceRuntime, desired: DesiredInstance) {
  const o = await rt.start(desired, noAbort());
  if (o.pid !== undefined) startedPids.add(o.pid);
  return o;
}

async function collect(rt: InstanceRuntime, id: string, options: LogOptions = {}): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of rt.logs(id, options)) lines.push(line);
  return lines;
}

const observed = async (id: string, rt: InstanceRuntime = runtime) => (await rt.list()).find((o) => o.id === id);

const exitedState = (id: string, rt: InstanceRuntime = runtime) =>
  waitFor(`${id} to exit`, async () => {
    const o = await observed(id, rt);
    return o?.state === 'exited' ? o : undefined;
  });

const folderOf = (d: DesiredInstance): string => join(stateDir, 'processes', `${d.id}-${d.revision.slice(0, 8)}`);

/** Alive and not a zombie (an orphan's zombie lingers here: PID 1 of this machine does not reap). */
function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

test('start, list, stop and remove a process; env, args and working dir reach it; a pid file is kept', async (t) => {
  const workDir = await makeTempDir('ep-process-cwd-');
  cleanups.push(() => workDir.remove());
  const desired = instance('lifecycle', ['sh', '-c', 'echo "greeting=$GREETING args=$0,$1 cwd=$(pwd)"; echo to-stderr >&2; exec sleep 1000'], {
    args: ['first', 'second'],
    env: { GREETING: 'hello edge' },
    workingDir: workDir.path,
  });
  const started = await start(runtime, desired);
  t.like(started, { state: 'running', runtime: 'process', workload: desired.workload, revision: desired.revision });
  t.true(alive(started.pid ?? -1));
  await t.throwsAsync(runtime.start(desired, noAbort()), { message: /already exists/ });

  const record = JSON.parse(await readFile(join(folderOf(desired), 'instance.json'), 'utf8')) as { pid: number; startTime: string; argv: string[] };
  t.is(record.pid, started.pid ?? -1);
  t.regex(record.startTime, /^\d+$/);
  const stat22 = (await readFile(`/proc/${record.pid}/stat`, 'utf8')).split(') ')[1]?.split(' ')[19];
  t.is(record.startTime, stat22 ?? 'unreadable');
  t.deepEqual(record.argv.slice(-2), ['first', 'second']);

  await waitFor('the first line', async () => (await collect(runtime, desired.id)).length === 2);
  t.deepEqual((await collect(runtime, desired.id)).map((l) => `${l.stream}:${l.text}`), [
    `stdout:greeting=hello edge args=first,second cwd=${workDir.path}`,
    'stderr:to-stderr',
  ]);

  await runtime.stop(desired.id, desired.revision, 5, noAbort());
  const stopped = await observed(desired.id);
  t.like(stopped, { state: 'exited', exitCode: 143 }); // sleep died of SIGTERM
  t.truthy(stopped?.finishedAt);
  await runtime.stop(desired.id, desired.revision, 5, noAbort()); // already stopped: fine
  await runtime.remove(desired.id, desired.revision);
  t.is(await observed(desired.id), undefined);
  await t.throwsAsync(stat(folderOf(desired)), { code: 'ENOENT' });
  await runtime.remove(desired.id, desired.revision); // already gone: fine
});

test('a command that cannot start is a clear error and leaves nothing behind', async (t) => {
  const desired = instance('missing', ['/nonexistent/program']);
  await t.throwsAsync(runtime.start(desired, noAbort()), { message: /cannot start "\/nonexistent\/program".*ENOENT/ });
  t.is(await observed(desired.id), undefined);
  await runtime.start(desired, noAbort()).catch(() => undefined); // a retry is not "already exists"
  await t.throwsAsync(stat(folderOf(desired)), { code: 'ENOENT' });
});

test('a process killed from outside is reported exited with its status and fires onExit', async (t) => {
  const desired = instance('killed', ['sleep', '1000']);
  const exits: string[] = [];
  cleanups.push(runtime.onExit((id) => exits.push(id)));
  const started = await start(runtime, desired);
  process.kill(started.pid ?? -1, 'SIGKILL');
  await waitFor('onExit', () => exits.includes(desired.id));
  t.like(await observed(desired.id), { state: 'exited', exitCode: 137 });
  const selfExit = instance('exit3', ['sh', '-c', 'exit 3']);
  await start(runtime, selfExit);
  t.like(await exitedState(selfExit.id), { exitCode: 3 });
});

test('when the leader exits, what it left running in its group is killed, as in a container', async (t) => {
  const desired = instance('leftover', ['sh', '-c', 'sleep 1000 & echo $!; exit 0']);
  await start(runtime, desired);
  t.like(await exitedState(desired.id), { exitCode: 0 });
  const helperPid = Number((await collect(runtime, desired.id))[0]?.text);
  t.true(helperPid > 0);
  await waitFor('the backgrounded helper to be gone', () => !alive(helperPid));
  await runtime.remove(desired.id, desired.revision);
});

test('stop honours the grace period: a TERM handler exits cleanly, a TERM ignorer is killed', async (t) => {
  const graceful = instance('graceful', ['sh', '-c', 'trap "echo got-term; exit 0" TERM; while true; do sleep 0.1; done']);
  const stubborn = instance('stubborn', ['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done']);
  await Promise.all([start(runtime, graceful), start(runtime, stubborn)]);
  await Promise.all([runtime.stop(graceful.id, graceful.revision, 20, noAbort()), runtime.stop(stubborn.id, stubborn.revision, 1, noAbort())]);
  t.like(await observed(graceful.id), { state: 'exited', exitCode: 0 });
  // The group got the TERM too: sh may also report its foreground sleep as "Terminated".
  t.true((await collect(runtime, graceful.id)).some((l) => l.stream === 'stdout' && l.text === 'got-term'));
  t.like(await observed(stubborn.id), { state: 'exited', exitCode: 137 });
});

test('a named volume is a folder passed as env and keeps its files across remove and a new revision', async (t) => {
  const volumes = [{ name: 'data-dir', mountPath: '/data' }];
  const workload = `wl-volume-${runId}`;
  const first = instance('volume', ['sh', '-c', 'echo kept > "$EDGEPILOT_VOLUME_DATA_DIR/file"; echo "$EDGEPILOT_VOLUME_DATA_DIR"'], { volumes }, workload);
  await start(runtime, first);
  await exitedState(first.id);
  t.deepEqual((await collect(runtime, first.id)).map((l) => l.text), [join(stateDir, 'volumes', workload, 'data-dir')]);
  await runtime.remove(first.id, first.revision);
  const second = instance('volume', ['sh', '-c', 'cat "$EDGEPILOT_VOLUME_DATA_DIR/file"'], { volumes }, workload);
  await start(runtime, second);
  await exitedState(second.id);
  t.deepEqual((await collect(runtime, second.id)).map((l) => l.text), ['kept']);
});

test('a new runtime object adopts a running process, sees it vanish, and refuses a reused pid', async (t) => {
  const desired = instance('adopt', ['sleep', '1000']);
  const started = await start(runtime, desired);
  const restarted = createProcessRuntime({ stateDir, deviceId, log });
  cleanups.push(() => restarted.close());
  t.like(await observed(desired.id, restarted), { state: 'running', pid: started.pid, revision: desired.revision });
  const exits: string[] = [];
  restarted.onExit((id) => exits.push(id));
  process.kill(started.pid ?? -1, 'SIGKILL');
  await waitFor('the adopting runtime to see the exit', () => exits.includes(desired.id));
  t.like(await observed(desired.id, restarted), { state: 'exited', exitCode: null }, 'not our child: its status is unknowable');

  // A pid file whose pid now belongs to someone else (this test process) with another start time.
  const fakeRevision = randomBytes(8).toString('hex');
  const fakeFolder = join(stateDir, 'processes', `reused-${runId}-${fakeRevision.slice(0, 8)}`);
  await mkdir(fakeFolder, { recursive: true });
  await writeFile(join(fakeFolder, 'instance.json'), JSON.stringify({
    id: `reused-${runId}`, workload: 'wl-reused', revision: fakeRevision, deviceId, pid: process.pid, startTime: '1',
    argv: ['sleep', '1'], env: {}, startedAt: new Date().toISOString(),
  }));
  t.like(await observed(`reused-${runId}`, restarted), { state: 'exited', exitCode: null });
  await restarted.stop(`reused-${runId}`, fakeRevision, 0, noAbort()); // must not signal this process
  await restarted.remove(`reused-${runId}`, fakeRevision);
  t.pass('still alive');
});

test('the process outlives the agent that started it, keeps logging to its files, and is adopted', async (t) => {
  const dir = await makeTempDir('ep-process-agent-');
  cleanups.push(() => dir.remove());
  const desired = instance('orphan', ['sh', '-c', 'while true; do echo tick; sleep 0.05; done']);
  const runtimeUrl = new URL('../../src/device-agent/runtime/process-runtime.js', import.meta.url).href;
  const logUrl = new URL('../../src/common/log.js', import.meta.url).href;
  const agentCode = `
    const { createProcessRuntime } = await import(${JSON.stringify(runtimeUrl)});
    const { createLogger } = await import(${JSON.stringify(logUrl)});
    const rt = createProcessRuntime({ stateDir: ${JSON.stringify(dir.path)}, deviceId: ${JSON.stringify(deviceId)}, log: createLogger('agent', 'error') });
    const o = await rt.start(${JSON.stringify(desired)}, new AbortController().signal);
    console.log('started ' + o.pid);
    setInterval(() => undefined, 1000);`;
  const agent = spawn(process.execPath, ['--input-type=module', '-e', agentCode], { stdio: ['ignore', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('.', import.meta.url)) });
  let out = '';
  agent.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const pid = Number(await waitFor('the agent to start the instance', () => /started (\d+)/.exec(out)?.[1]));
  startedPids.add(pid);
  agent.kill('SIGKILL');
  await new Promise((resolve) => agent.once('exit', resolve));

  const stdoutLog = join(dir.path, 'processes', `${desired.id}-${desired.revision.slice(0, 8)}`, 'stdout.log');
  const sizeAfterDeath = (await stat(stdoutLog)).size;
  await waitFor('the orphan to keep writing', async () => (await stat(stdoutLog)).size > sizeAfterDeath + 100);
  t.true(alive(pid));

  const adopting = createProcessRuntime({ stateDir: dir.path, deviceId, log });
  cleanups.push(() => adopting.close());
  t.like(await observed(desired.id, adopting), { state: 'running', pid });
  await adopting.stop(desired.id, desired.revision, 5, noAbort());
  t.false(alive(pid));
  t.like(await observed(desired.id, adopting), { state: 'exited', exitCode: null });
});

test('logs: tail, follow until aborted, follow until the process exits; exec returns code and output', async (t) => {
  const desired = instance('logs', ['sh', '-c', 'for i in 1 2 3 4 5; do echo line-$i; done; while [ ! -f go ]; do sleep 0.05; done; echo after-go; while [ ! -f stop ]; do sleep 0.05; done; echo bye'], {
    env: { MARKER: 'from-instance-env' },
  });
  await start(runtime, desired);
  await waitFor('five lines', async () => (await collect(runtime, desired.id)).length === 5);
  t.deepEqual((await collect(runtime, desired.id, { tail: 2 })).map((l) => l.text), ['line-4', 'line-5']);

  const aborter = new AbortController();
  const followed: string[] = [];
  const following = (async () => {
    for await (const line of runtime.logs(desired.id, { tail: 1, follow: true, signal: aborter.signal })) {
      followed.push(line.text);
      if (line.text === 'after-go') aborter.abort();
    }
  })();
  await waitFor('the follower to see the tail', () => followed.includes('line-5'));
  // exec runs in the instance's working directory (its folder) with the instance's env.
  const go = await runtime.exec(desired.id, ['sh', '-c', 'touch go; echo "$MARKER"; echo err >&2; exit 3'], 5000);
  t.is(go.exitCode, 3);
  t.deepEqual(go.output.trim().split('\n').sort(), ['err', 'from-instance-env']);
  await following;
  t.deepEqual(followed, ['line-5', 'after-go']);

  // tail 1: the follower may attach before or after 'bye' is written; either way it must see it and end.
  const untilExit = collect(runtime, desired.id, { tail: 1, follow: true });
  await runtime.exec(desired.id, ['touch', 'stop'], 5000);
  const lastLines = (await untilExit).map((l) => l.text);
  t.is(lastLines.at(-1), 'bye', 'following ends by itself when the process exits');
  t.true(lastLines.length <= 2);

  await exitedState(desired.id);
  await t.throwsAsync(runtime.exec(desired.id, ['true'], 1000), { message: /not running/ });
});

test('exec times out, and a command that cannot start is exit code 127', async (t) => {
  const desired = instance('exec', ['sleep', '1000']);
  await start(runtime, desired);
  await t.throwsAsync(runtime.exec(desired.id, ['sleep', '5'], 200), { message: /timed out after 200 ms/ });
  t.like(await runtime.exec(desired.id, ['/nonexistent/probe'], 1000), { exitCode: 127 });
  await runtime.stop(desired.id, desired.revision, 0, noAbort());
});

test('log rotation caps the live file, on read and on the timer, and tail still sees the newest lines', async (t) => {
  // 2000 lines of ~40 bytes = ~80 KB, far over the 4 KiB cap of this runtime.
  const burst = instance('rotate', ['sh', '-c', 'i=0; while [ $i -lt 2000 ]; do echo "line $i padding-padding-padding"; i=$((i+1)); done; echo last-line; exec sleep 1000']);
  await start(runtime, burst);
  const stdoutLog = join(folderOf(burst), 'stdout.log');
  await waitFor('the burst', async () => (await readFile(stdoutLog, 'utf8')).includes('last-line'));
  const tail = await collect(runtime, burst.id, { tail: 2 }); // rotates before reading
  t.deepEqual(tail.map((l) => l.text), ['line 1999 padding-padding-padding', 'last-line']);
  t.true((await stat(stdoutLog)).size <= 4096);
  t.true((await stat(`${stdoutLog}.1`)).size > 0);

  // A steady writer is rotated by the runtime's timer, without anyone reading.
  const steady = instance('steady', ['sh', '-c', 'while true; do i=0; while [ $i -lt 50 ]; do echo "steady line $i padding-padding"; i=$((i+1)); done; sleep 0.05; done']);
  await start(runtime, steady);
  const steadyLog = join(folderOf(steady), 'stdout.log');
  await waitFor('the timer to rotate', async () => (await stat(`${steadyLog}.1`).catch(() => undefined)) !== undefined, 40_000);
  t.pass();
});

test('usage returns CPU percent and memory for the process group; probeHost is localhost', async (t) => {
  const desired = instance('usage', ['sh', '-c', 'while true; do :; done']);
  await start(runtime, desired);
  const first = await runtime.usage(desired.id);
  await new Promise((resolve) => setTimeout(resolve, 500));
  const second = await runtime.usage(desired.id);
  t.true(Number.isFinite(first?.cpuPercent) && Number.isFinite(second?.cpuPercent));
  t.true((second?.cpuPercent ?? 0) > 0, `cpu ${second?.cpuPercent}`);
  t.true((second?.memoryBytes ?? 0) > 0);
  t.log(`busy loop: ${second?.cpuPercent.toFixed(1)} % CPU, ${second?.memoryBytes} bytes RSS`);
  t.is(await runtime.probeHost(desired.id), '127.0.0.1');
  await runtime.stop(desired.id, desired.revision, 0, noAbort());
  t.is(await runtime.usage(desired.id), undefined);
});
