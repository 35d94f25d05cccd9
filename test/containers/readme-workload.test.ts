import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../support/fleet.js';
import { docker, removeContainersOfDevice } from '../support/docker.js';
import { makeTempDir, repoRoot } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { waitForInstances, workloads } from '../support/workloads.js';

/**
 * Issue 12: the README's own Workload example never started (`cpu: 500m` reached Docker as 500
 * CPUs). This applies the example exactly as README.md has it today, read at test time, to a hub
 * and one agent on a real dockerd, and checks what Docker was asked for.
 *
 * The example passes `/dev/ttyUSB0` through; this machine has no such port, so the test provides
 * one: a socat pseudo-terminal linked at that path (removed afterwards, never an existing port).
 * sysfs does not list a pseudo-terminal, so the agent's facts name the port through --facts-file,
 * as a USB adapter's would.
 */
const SERIAL_PORT = '/dev/ttyUSB0';
const MiB = 2 ** 20;

const ctx = {} as { dir: string; hub: HubHandle; agent: ManagedProcess; deviceId: string; cleanups: (() => Promise<void> | void)[] };

/** The ```yaml block of README.md that defines the tilt-reader Workload, as written. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const example = blocks.find((b) => /^\s+name: tilt-reader$/m.test(b) && /^kind: Workload$/m.test(b));
  if (!example) throw new Error('README.md has no yaml block with the tilt-reader Workload');
  return example;
}

/** A pseudo-terminal at `path` for as long as the test runs. */
async function providePort(path: string, dir: string): Promise<void> {
  if (existsSync(path)) throw new Error(`${path} exists on this machine; refusing to replace it`);
  const socat: ChildProcess = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${path}`, `pty,raw,echo=0,link=${join(dir, 'peer')}`], { stdio: 'ignore' });
  const exited = once(socat, 'exit');
  ctx.cleanups.unshift(async () => {
    socat.kill();
    // Checked once socat is gone: it removes its links as it exits (checking earlier raced
    // with that); make sure a killed one leaves nothing in /dev.
    await exited;
    if (existsSync(path) && lstatSync(path).isSymbolicLink() && readlinkSync(path).startsWith('/dev/pts/')) await rm(path, { force: true });
  });
  await waitFor(`socat to link a pseudo-terminal at ${path}`, () => (existsSync(path) && existsSync(join(dir, 'peer')) ? true : undefined));
}

test.before(async () => {
  const tmp = await makeTempDir('ep-readme-workload-');
  ctx.dir = tmp.path;
  ctx.cleanups = [() => tmp.remove()];
  await providePort(SERIAL_PORT, tmp.path);
  // Cleanups run in order: each step below puts its own in front.
  ctx.hub = await startHubProcess({ root: tmp.path, dataDir: join(tmp.path, 'hub') });
  ctx.cleanups.unshift(() => ctx.hub.proc.kill('SIGKILL'));
  // The example selects `site: plant-3`; the device gets that label from its join token.
  const token = await createJoinToken(ctx.hub, ['--labels', 'site=plant-3']);
  const factsFile = join(tmp.path, 'facts.json');
  await writeFile(factsFile, JSON.stringify({ serialPorts: [{ path: SERIAL_PORT }] }));
  ctx.agent = startAgentProcess({ name: 'agent', root: tmp.path, hubUrl: ctx.hub.apiUrl, joinToken: token, stateDir: join(tmp.path, 'agent'), hardwareId: `readme-${Date.now().toString(36)}`, factsFile });
  // The agent stops before its containers are removed, so it cannot start them again.
  ctx.cleanups.unshift(async () => {
    await ctx.agent.kill('SIGKILL');
    if (ctx.deviceId) await removeContainersOfDevice(ctx.deviceId).catch(() => undefined);
    await docker('volume', 'rm', '-f', 'ep-tilt-reader-data').catch(() => undefined);
  });
  ctx.deviceId = (await ctx.agent.waitForOutput(/running as (\S+)/))[1] ?? '';
});

// Every step runs even when one fails (processes first, the temp folder last); the first failure is reported.
test.after.always(async () => {
  const failures: unknown[] = [];
  for (const cleanup of ctx.cleanups ?? []) await Promise.resolve().then(cleanup).catch((err: unknown) => failures.push(err));
  if (failures.length > 0) throw failures[0];
});

test.afterEach.always((t) => {
  if (t.passed || !ctx.agent) return;
  t.log(`agent output:\n${ctx.agent.output.split('\n').filter((l) => !l.includes(' DEBUG ')).slice(-25).join('\n')}`);
});

test.serial("the README's tilt-reader example starts as written, with half a CPU and 64 MiB", async (t) => {
  const path = join(ctx.dir, 'tilt-reader.yaml');
  await writeFile(path, await readmeExample());
  const applied = await ctx.hub.cli(['apply', '-f', path]);
  t.is(applied.stdout.trim(), 'workload/tilt-reader created', applied.stderr);

  // Running is enough: the example's readiness probe waits for a port 8080 nothing listens on.
  const [instance] = await waitForInstances(ctx.hub, 'tilt-reader', 1, (i) => i.phase === 'running' && i.containerId !== undefined, 'running', 90_000);
  const inspected = JSON.parse(await docker('inspect', instance?.containerId ?? '')) as { HostConfig: Record<string, unknown>; State: { Running: boolean } }[];
  const host = inspected[0]?.HostConfig ?? {};
  t.true(inspected[0]?.State.Running);
  t.is(host['NanoCpus'], 500_000_000, 'limits.cpu 500m');
  t.is(host['Memory'], 64 * MiB, 'limits.memory 64Mi');
  t.is(host['MemoryReservation'], 32 * MiB, 'requests.memory 32Mi');
  t.is(host['CpuShares'], 102, 'requests.cpu 100m: 1024 per CPU');

  const described = await ctx.hub.cli(['describe', 'workload', 'tilt-reader']);
  t.regex(described.stdout, /Limits:\s+cpu 500m, memory 64Mi\n/);
  t.regex(described.stdout, /Requests:\s+cpu 100m, memory 32Mi\n/);
  const view = (await workloads(ctx.hub)).find((w) => w.name === 'tilt-reader');
  t.deepEqual(view?.spec.template.resources.limits, { cpuMillis: 500, memoryBytes: 64 * MiB });
});
