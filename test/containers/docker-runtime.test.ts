import test from 'ava';
import Docker from 'dockerode';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { openSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ReadStream } from 'node:tty';
import { createLogger } from '../../src/common/log.js';
import { dockerSocketPath } from '../../src/device-agent/facts/docker-probe.js';
import { createDockerRuntime } from '../../src/device-agent/runtime/docker-runtime.js';
import { buildCreateOptions } from '../../src/device-agent/runtime/docker/container-spec.js';
import type { InstanceRuntime, LogLine, LogOptions } from '../../src/device-agent/runtime/runtime.js';
import { desiredInstanceSchema, templateManifestSchema, type DesiredInstance } from '../../src/protocol/index.js';
import { makeTempDir } from '../support/paths.js';
import { waitFor } from '../support/wait.js';

// Runs against the real dockerd (scripts/start-dockerd.sh). Nothing here is mocked or skipped.
const socketPath = dockerSocketPath();
const docker = new Docker({ socketPath });
const runId = randomBytes(3).toString('hex');
const deviceId = `test-${runId}`;
const IMAGE = 'local/busybox:latest';
const logLines: string[] = [];
const log = createLogger('docker-runtime-test', 'debug', (line) => logLines.push(line));
const runtime = createDockerRuntime({ docker, deviceId, networkMode: 'host', registryConfigured: false, log });
const cleanups: Array<() => Promise<void> | void> = [];
/** A fresh signal per call, as the reconciler passes its apply's signal (one shared signal would collect a listener per request). */
const noAbort = (): AbortSignal => new AbortController().signal;

function instance(name: string, template: Record<string, unknown>, workload = `wl-${name}`): DesiredInstance {
  return desiredInstanceSchema.parse({
    id: `${name}-${runId}`,
    workload,
    revision: randomBytes(8).toString('hex'),
    // Written like a manifest (`cpu: 500m`), sent in canonical form, as the hub does.
    template: templateManifestSchema.parse({ runtime: 'container', image: IMAGE, terminationGracePeriodSeconds: 2, ...template }),
  });
}

async function collect(rt: InstanceRuntime, id: string, options: LogOptions = {}): Promise<LogLine[]> {
  const lines: LogLine[] = [];
  for await (const line of rt.logs(id, options)) lines.push(line);
  return lines;
}

async function observed(id: string) {
  return (await runtime.list()).find((o) => o.id === id);
}

const exitedState = (id: string) => waitFor(`${id} to exit`, async () => {
  const o = await observed(id);
  return o?.state === 'exited' ? o : undefined;
});

test.before(async () => {
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(`Docker is not reachable at ${socketPath} (${(err as Error).message}). Start it with scripts/start-dockerd.sh; the container tests need a real engine and never skip.`);
  }
  await docker.getImage(IMAGE).inspect().catch(() => {
    throw new Error(`image ${IMAGE} is missing: scripts/start-dockerd.sh imports it`);
  });
});

test.after.always(async () => {
  for (const cleanup of cleanups) await cleanup();
  await runtime.close();
  const label = [`io.edgepilot.device=${deviceId}`];
  // Unreachable Docker already failed the run in test.before; do not bury that under a second error.
  if (!(await docker.ping().then(() => true, () => false))) return;
  for (const c of await docker.listContainers({ all: true, filters: { label } })) await docker.getContainer(c.Id).remove({ force: true, v: true });
  const { Volumes } = await docker.listVolumes({ filters: { label } });
  for (const v of Volumes ?? []) await docker.getVolume(v.Name).remove();
});

test('create, start, list, stop and remove a container with labels, init, limits and no restart policy', async (t) => {
  const desired = instance('lifecycle', { command: ['sleep', '1000'], resources: { limits: { memory: '32Mi', cpu: '500m' } } });
  await runtime.prepare(desired, noAbort());
  const began = performance.now();
  const started = await runtime.start(desired, noAbort());
  t.is(started.state, 'running');
  t.truthy(started.containerId);
  t.truthy(started.startedAt);
  t.is(started.finishedAt, undefined);

  const info = await docker.getContainer(started.containerId ?? '').inspect();
  t.is(info.Name, `/ep-${desired.id}-${desired.revision.slice(0, 8)}-${deviceId}`);
  t.like(info.Config.Labels, {
    'io.edgepilot.managed': 'true',
    'io.edgepilot.device': deviceId,
    'io.edgepilot.instance': desired.id,
    'io.edgepilot.workload': desired.workload,
    'io.edgepilot.revision': desired.revision,
  });
  t.true(info.HostConfig.Init);
  t.true(['no', ''].includes(info.HostConfig.RestartPolicy?.Name ?? ''), 'the agent restarts, never Docker');
  t.is(info.HostConfig.Memory, 32 * 1024 * 1024);
  t.is(info.HostConfig.NanoCpus, 500_000_000);
  t.is(info.HostConfig.NetworkMode, 'host');

  await t.throwsAsync(runtime.start(desired, noAbort()), { message: /already exists/ });
  const listed = await observed(desired.id);
  t.like(listed, { state: 'running', containerId: started.containerId, workload: desired.workload, revision: desired.revision, runtime: 'container' });

  await runtime.stop(desired.id, desired.revision, 5, noAbort());
  const stopped = await observed(desired.id);
  t.is(stopped?.state, 'exited');
  t.truthy(stopped?.finishedAt);
  await runtime.stop(desired.id, desired.revision, 5, noAbort()); // already stopped: fine
  await runtime.remove(desired.id, desired.revision);
  t.log(`create+start+stop+remove: ${Math.round(performance.now() - began)} ms (incl. one list and inspect)`);
  t.is(await observed(desired.id), undefined);
  await runtime.remove(desired.id, desired.revision); // already gone: fine
  await runtime.stop(desired.id, desired.revision, 5, noAbort());
});

test('a CPU limit above the engine\'s CPUs starts, limited to all of them (Docker refuses more)', async (t) => {
  const desired = instance('many-cpus', { command: ['sleep', '1000'], resources: { limits: { cpu: '1024' } } });
  const started = await runtime.start(desired, noAbort());
  cleanups.push(() => runtime.remove(desired.id, desired.revision));
  t.is(started.state, 'running');
  const engine = (await docker.info()) as { NCPU: number };
  const info = await docker.getContainer(started.containerId ?? '').inspect();
  t.is(info.HostConfig.NanoCpus, engine.NCPU * 1_000_000_000);
  await runtime.stop(desired.id, desired.revision, 1, noAbort());
});

test('env and args reach the process; logs keep stdout and stderr apart with times', async (t) => {
  const desired = instance('env', {
    command: ['sh', '-c', 'echo "greeting=$GREETING"; echo "args=$0,$1"; echo "to-stderr" >&2'],
    args: ['first', 'second'],
    env: { GREETING: 'hello edge' },
  });
  await runtime.start(desired, noAbort());
  await exitedState(desired.id);
  const lines = await collect(runtime, desired.id);
  t.deepEqual(
    lines.map((l) => `${l.stream}:${l.text}`).sort(),
    ['stderr:to-stderr', 'stdout:args=first,second', 'stdout:greeting=hello edge'],
  );
  t.true(lines.every((l) => l.time instanceof Date && l.time.getUTCFullYear() > 2000));
  t.is((await observed(desired.id))?.exitCode, 0);
});

test('a container killed from outside is reported exited with its exit code and fires onExit', async (t) => {
  const desired = instance('killed', { command: ['sleep', '1000'] });
  const exits: string[] = [];
  const unsubscribe = runtime.onExit((id) => exits.push(id));
  cleanups.push(unsubscribe);
  const started = await runtime.start(desired, noAbort());
  await docker.getContainer(started.containerId ?? '').kill({ signal: 'SIGKILL' });
  await waitFor('onExit for the killed container', () => exits.includes(desired.id));
  const after = await observed(desired.id);
  t.like(after, { state: 'exited', exitCode: 137, oomKilled: false });
  t.truthy(after?.finishedAt);
});

test('a memory limit is applied and an OOM kill is reported as exit 137 with oomKilled', async (t) => {
  const desired = instance('oom', {
    command: ['sh', '-c', 'x=a; while true; do x=$x$x; done'],
    resources: { limits: { memory: '16Mi' } },
  });
  const started = await runtime.start(desired, noAbort());
  const info = await docker.getContainer(started.containerId ?? '').inspect();
  t.is(info.HostConfig.Memory, 16 * 1024 * 1024);
  t.is(info.HostConfig.MemorySwap, 16 * 1024 * 1024, 'no swap on top of the limit, so the limit is what the kernel enforces');
  await exitedState(desired.id);
  // The engine learns of the OOM kill from the cgroup's events, which can land just after the
  // exit itself under load: the runtime reports it on the next observation.
  const after = await waitFor(`${desired.id} reported as OOM-killed`, async () => {
    const o = await observed(desired.id);
    return o?.oomKilled ? o : undefined;
  }, 30_000);
  t.like(after, { exitCode: 137, oomKilled: true });
});

test('a named volume keeps its files across remove and a new revision; host paths bind, read-only when asked', async (t) => {
  const host = await makeTempDir('ep-docker-bind-');
  cleanups.push(() => host.remove());
  const volumes = [
    { name: 'data', mountPath: '/data' },
    { name: 'config', mountPath: '/config', hostPath: host.path, readOnly: true },
  ];
  const first = instance('volume', { command: ['sh', '-c', 'echo kept > /data/file; touch /config/x 2>/dev/null && echo writable || echo read-only'], volumes }, `wl-volume-${runId}`);
  await runtime.start(first, noAbort());
  await exitedState(first.id);
  t.deepEqual((await collect(runtime, first.id)).map((l) => l.text), ['read-only']);
  await runtime.remove(first.id, first.revision);

  const volumeName = `ep-wl-volume-${runId}-data`;
  const volume = await docker.getVolume(volumeName).inspect();
  t.like(volume.Labels, { 'io.edgepilot.managed': 'true', 'io.edgepilot.device': deviceId, 'io.edgepilot.workload': `wl-volume-${runId}` });

  const second = { ...instance('volume', { command: ['cat', '/data/file'], volumes }, `wl-volume-${runId}`) };
  t.not(second.revision, first.revision);
  await runtime.start(second, noAbort());
  await exitedState(second.id);
  t.deepEqual((await collect(runtime, second.id)).map((l) => l.text), ['kept']);
});

test('a serial pseudo-terminal is passed through and carries bytes to the host', async (t) => {
  const dir = await makeTempDir('ep-docker-pty-');
  cleanups.push(() => dir.remove());
  const socat: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${join(dir.path, 'a')}`, `pty,raw,echo=0,link=${join(dir.path, 'b')}`], { stdio: 'ignore' });
  cleanups.push(() => void socat.kill());
  const ptyA = await waitFor('socat to create the pty pair', () => {
    try {
      readlinkSync(join(dir.path, 'b'));
      return readlinkSync(join(dir.path, 'a'));
    } catch {
      return undefined;
    }
  });
  const peer = new ReadStream(openSync(join(dir.path, 'b'), 'r+'));
  cleanups.push(() => void peer.destroy());
  let received = '';
  peer.on('data', (chunk: Buffer) => (received += chunk.toString()));

  const number = /\/dev\/pts\/(\d+)$/.exec(ptyA)?.[1];
  const desired = instance('serial', {
    command: ['sh', '-c', `test -c /dev/ttyPTS${number} && echo is-a-char-device; echo hello-mcu > /dev/ttyPTS${number}; test -c /dev/ttyMCU && echo explicit-mapping`],
    serialDevices: [ptyA, `${ptyA}:/dev/ttyMCU`],
  });
  await runtime.start(desired, noAbort());
  await exitedState(desired.id);
  t.deepEqual((await collect(runtime, desired.id)).map((l) => `${l.stream}:${l.text}`), ['stdout:is-a-char-device', 'stdout:explicit-mapping']);
  await waitFor('bytes from the container on the host end of the pty', () => received.includes('hello-mcu'));
  t.pass();
});

test('a new runtime object (as after an agent restart) adopts the running container', async (t) => {
  const desired = instance('adopt', { command: ['sleep', '1000'] });
  const started = await runtime.start(desired, noAbort());
  const restarted = createDockerRuntime({ docker, deviceId, networkMode: 'host', registryConfigured: false, log });
  cleanups.push(() => restarted.close());
  const adopted = (await restarted.list()).find((o) => o.id === desired.id);
  t.like(adopted, { state: 'running', containerId: started.containerId, revision: desired.revision, pid: started.pid });
  // Another device's agent on the same engine sees none of it, and can run the same instance
  // id and revision next to it (instance ids are unique per device only).
  const other = createDockerRuntime({ docker, deviceId: `${deviceId}-other`, networkMode: 'host', registryConfigured: false, log });
  t.deepEqual(await other.list(), []);
  const twin = await other.start(desired, noAbort());
  t.not(twin.containerId, started.containerId);
  t.deepEqual((await other.list()).map((o) => o.containerId), [twin.containerId]);
  await other.stop(desired.id, desired.revision, 0, noAbort());
  await other.remove(desired.id, desired.revision);
  await restarted.stop(desired.id, desired.revision, 0, noAbort());
});

test('stop honours the grace period: a TERM handler exits cleanly, a TERM ignorer is killed', async (t) => {
  const graceful = instance('graceful', { command: ['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo trapped; while true; do sleep 0.1; done'] });
  const stubborn = instance('stubborn', { command: ['sh', '-c', 'trap "" TERM; echo trapped; while true; do sleep 0.1; done'] });
  await Promise.all([runtime.start(graceful, noAbort()), runtime.start(stubborn, noAbort())]);
  // A TERM that lands before a shell has run its `trap` ends it with 143 (seen on a busy host):
  // stop only once both say their trap is set.
  for (const { id } of [graceful, stubborn]) {
    await waitFor(`${id} to set its trap`, async () => ((await collect(runtime, id)).some((l) => l.text === 'trapped') ? true : undefined));
  }
  await Promise.all([runtime.stop(graceful.id, graceful.revision, 20, noAbort()), runtime.stop(stubborn.id, stubborn.revision, 1, noAbort())]);
  t.like(await observed(graceful.id), { state: 'exited', exitCode: 0 });
  t.deepEqual((await collect(runtime, graceful.id)).map((l) => l.text), ['trapped', 'got-term']);
  t.like(await observed(stubborn.id), { state: 'exited', exitCode: 137, oomKilled: false });
});

test('logs: tail, follow until aborted, follow until the container stops; exec returns code and output', async (t) => {
  const desired = instance('logs', {
    command: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line-$i; done; while [ ! -f /tmp/go ]; do sleep 0.05; done; echo after-go; while [ ! -f /tmp/stop ]; do sleep 0.05; done; echo bye'],
  });
  await runtime.start(desired, noAbort());
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
  const go = await runtime.exec(desired.id, ['sh', '-c', 'touch /tmp/go; echo out; echo err >&2; exit 3'], 5000);
  t.is(go.exitCode, 3);
  t.deepEqual(go.output.trim().split('\n').sort(), ['err', 'out']);
  await following; // ends because the signal aborted
  t.deepEqual(followed, ['line-5', 'after-go']);

  // tail 1: the follower may attach before or after 'bye' is written; either way it must see it and end.
  const untilStop = collect(runtime, desired.id, { tail: 1, follow: true });
  await runtime.exec(desired.id, ['touch', '/tmp/stop'], 5000);
  const lastLines = (await untilStop).map((l) => l.text);
  t.is(lastLines.at(-1), 'bye', 'following ends by itself when the container stops');
  t.true(lastLines.length <= 2);
});

test('exec fails clearly on timeout and on a stopped instance', async (t) => {
  const desired = instance('exec', { command: ['sleep', '1000'] });
  await runtime.start(desired, noAbort());
  await t.throwsAsync(runtime.exec(desired.id, ['sleep', '5'], 200), { message: /timed out after 200 ms/ });
  const missing = await runtime.exec(desired.id, ['no-such-command'], 5000);
  t.not(missing.exitCode, 0);
  await runtime.stop(desired.id, desired.revision, 0, noAbort());
  await t.throwsAsync(runtime.exec(desired.id, ['true'], 1000), { message: /not running/ });
});

test('usage returns CPU percent and memory; probeHost is localhost on host networking', async (t) => {
  const desired = instance('usage', { command: ['sh', '-c', 'while true; do :; done'] });
  await runtime.start(desired, noAbort());
  const sample = await runtime.usage(desired.id);
  t.truthy(sample);
  t.true(Number.isFinite(sample?.cpuPercent) && (sample?.cpuPercent ?? 0) > 0, `cpu ${sample?.cpuPercent}`);
  t.true((sample?.memoryBytes ?? 0) > 0);
  t.log(`busy loop: ${sample?.cpuPercent.toFixed(1)} % CPU, ${sample?.memoryBytes} bytes`);
  t.is(await runtime.probeHost(desired.id), '127.0.0.1');
  await runtime.stop(desired.id, desired.revision, 0, noAbort());
  t.is(await runtime.usage(desired.id), undefined);
});

test('prepare: present image ok, missing image without registry is a clear error, a failed pull names the image', async (t) => {
  await runtime.prepare(instance('prep', {}), noAbort());
  await t.throwsAsync(runtime.prepare(instance('prep', { image: `local/missing-${runId}:1` }), noAbort()), {
    message: `image local/missing-${runId}:1 is not on this device and no registry is configured`,
  });
  const withRegistry = createDockerRuntime({ docker, deviceId, networkMode: 'host', registryConfigured: true, log });
  const progress: string[] = [];
  const image = `127.0.0.1:9/edgepilot/missing-${runId}:1`;
  const error = await t.throwsAsync(withRegistry.prepare(instance('prep', { image }), noAbort(), (m) => progress.push(m)));
  t.true(error?.message.startsWith(`pulling ${image} failed`), error?.message);
});

test('a missing serial device is a clear start error that leaves nothing behind; a missing program exits 127', async (t) => {
  const desired = instance('nostart', { command: ['true'], serialDevices: [`/dev/ttyNOPE${runId}`] });
  const error = await t.throwsAsync(runtime.start(desired, noAbort()));
  t.regex(error?.message ?? '', new RegExp(`(creating|starting) container ep-nostart-.* failed: .*ttyNOPE${runId}`));
  t.is(await observed(desired.id), undefined);
  t.false((await docker.listContainers({ all: true, filters: { label: [`io.edgepilot.instance=${desired.id}`] } })).length > 0);

  // docker-init starts, then cannot exec the program: an exit like any crash, with the reason logged.
  const missing = instance('noprogram', { command: ['/nonexistent/program'] });
  await runtime.start(missing, noAbort());
  t.like(await exitedState(missing.id), { exitCode: 127 });
  t.true((await collect(runtime, missing.id)).some((l) => l.text.includes('/nonexistent/program')));
});

test('a never-started container is listed as created without year-1 dates; ports are not published on host networking', async (t) => {
  const desired = instance('created', { command: ['true'], ports: [{ containerPort: 8080, hostPort: 18080 }] });
  // What an agent that crashed between create and start leaves behind.
  const options = buildCreateOptions(desired as Parameters<typeof buildCreateOptions>[0], { devices: [], binds: [], cgroupRules: [], placements: [] }, { deviceId, networkMode: 'host', log });
  await docker.createContainer(options);
  t.true(logLines.some((l) => l.includes('cannot be published on host networking')));
  t.is(options.ExposedPorts, undefined);
  const o = await observed(desired.id);
  t.like(o, { state: 'created' });
  t.is(o?.startedAt, undefined);
  t.is(o?.finishedAt, undefined);
  t.is(o?.exitCode, undefined);
  await runtime.remove(desired.id, desired.revision);

  // On a bridge network the same port is published (not runnable here: dockerd runs with bridge=none).
  const bridged = buildCreateOptions(desired as Parameters<typeof buildCreateOptions>[0], { devices: [], binds: [], cgroupRules: [], placements: [] }, { deviceId, networkMode: 'bridge', log });
  t.deepEqual(bridged.ExposedPorts, { '8080/tcp': {} });
  t.deepEqual(bridged.HostConfig?.PortBindings, { '8080/tcp': [{ HostPort: '18080' }] });
});
