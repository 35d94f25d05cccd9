import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import { freePort } from '../support/mosquitto.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { docker } from '../support/docker.js';
import { applyYaml, instancesOf, waitForInstances } from '../support/workloads.js';

/**
 * Issue 3 end to end: a hub and two agents as processes, a real dockerd, busybox containers
 * and plain processes. The steps build on each other, so they run in order.
 */
const ctx = {} as {
  dir: string;
  hub: HubHandle;
  ports: { apiPort: number; mqttPort: number };
  agents: Record<'a' | 'b', { proc: ManagedProcess; id: string; stateDir: string; hardwareId: string }>;
  procs: ManagedProcess[];
  marker: string;
  cleanup(): Promise<void>;
};

const webYaml = (version: string): string => `apiVersion: edgepilot.io/v1
kind: Workload
metadata:
  name: web
spec:
  selector:
    matchLabels: { role: edge }
  template:
    runtime: container
    image: local/busybox:latest
    command: ["sh", "-c"]
    args:
      - |
        [ -f /data/marker ] || echo "m$RANDOM$RANDOM" > /data/marker
        echo "marker=$(cat /data/marker) version=$VERSION"
        exec sleep 100000
    env: { VERSION: "${version}" }
    volumes:
      - { name: data, mountPath: /data }
    terminationGracePeriodSeconds: 2
`;

const tickerYaml = (marker: string): string => `apiVersion: edgepilot.io/v1
kind: Workload
metadata:
  name: ticker
spec:
  selector:
    matchLabels: { role: edge }
  template:
    runtime: process
    command: ["sh", "-c", "echo started ${marker}; while true; do sleep 1; done", "${marker}"]
`;

function startAgent(name: 'a' | 'b', joinToken?: string): ManagedProcess {
  const stateDir = join(ctx.dir, `agent-${name}`);
  const proc = startAgentProcess({ name: `agent-${name}`, root: ctx.dir, hubUrl: ctx.hub.apiUrl, ...(joinToken ? { joinToken } : {}), stateDir, hardwareId: `containers-${name}-${ctx.marker}`, extraArgs: ['--crash-backoff', '1'] });
  ctx.procs.push(proc);
  return proc;
}

async function pidsWith(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(marker) && cmd.startsWith('sh')) pids.push(Number(entry));
  }
  return pids;
}

test.before(async () => {
  const tmp = await makeTempDir('ep-containers-');
  ctx.dir = tmp.path;
  ctx.procs = [];
  ctx.marker = `ticker-${Date.now().toString(36)}`;
  ctx.ports = { apiPort: await freePort(), mqttPort: await freePort() };
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: join(ctx.dir, 'hub'), ...ctx.ports });
  ctx.procs.push(ctx.hub.proc);
  const token = await createJoinToken(ctx.hub, ['--labels', 'role=edge', '--max-uses', '2']);
  const a = startAgent('a', token);
  const b = startAgent('b', token);
  const [idA, idB] = await Promise.all([a.waitForOutput(/running as (\S+)/), b.waitForOutput(/running as (\S+)/)]);
  ctx.agents = {
    a: { proc: a, id: idA[1] ?? '', stateDir: join(ctx.dir, 'agent-a'), hardwareId: '' },
    b: { proc: b, id: idB[1] ?? '', stateDir: join(ctx.dir, 'agent-b'), hardwareId: '' },
  };
  ctx.cleanup = async () => {
    await Promise.all(ctx.procs.map((p) => p.kill('SIGKILL')));
    for (const id of [ctx.agents.a.id, ctx.agents.b.id]) {
      const containers = await docker('ps', '-aq', '--filter', `label=io.edgepilot.device=${id}`).catch(() => '');
      if (containers) await docker('rm', '-f', ...containers.split('\n')).catch(() => undefined);
    }
    for (const pid of await pidsWith(ctx.marker)) process.kill(pid, 'SIGKILL');
    await docker('volume', 'rm', '-f', 'ep-web-data').catch(() => undefined);
    await tmp.remove();
  };
});

test.afterEach.always((t) => {
  if (t.passed) return;
  for (const [name, agent] of Object.entries(ctx.agents ?? {})) t.log(`agent ${name} output:\n${agent.proc.output.split('\n').filter((l) => !l.includes(' DEBUG ')).slice(-25).join('\n')}`);
  t.log(`hub output:\n${ctx.hub.proc.output.split('\n').filter((l) => !l.includes(' DEBUG ')).slice(-15).join('\n')}`);
});

test.after.always(async () => {
  await ctx.cleanup?.();
});

const running = (i: { phase: string; ready: boolean }): boolean => i.phase === 'running' && i.ready;

test.serial('a container workload and a process workload run on both agents, per device in get -o json', async (t) => {
  await docker('volume', 'rm', '-f', 'ep-web-data').catch(() => undefined);
  await applyYaml(ctx.hub, ctx.dir, 'web.yaml', webYaml('1'));
  await applyYaml(ctx.hub, ctx.dir, 'ticker.yaml', tickerYaml(ctx.marker));
  const web = await waitForInstances(ctx.hub, 'web', 2, running, 'running and ready on both devices');
  const ticker = await waitForInstances(ctx.hub, 'ticker', 2, running, 'running and ready on both devices');
  const devices = [ctx.agents.a.id, ctx.agents.b.id].sort();
  t.deepEqual(web.map((i) => i.device).sort(), devices);
  t.deepEqual(ticker.map((i) => i.device).sort(), devices);
  t.true(web.every((i) => i.runtime === 'container' && i.containerId !== undefined && i.applied));
  t.true(ticker.every((i) => i.runtime === 'process' && i.pid !== undefined));
});

test.serial('a container killed from outside and a process killed with -9 each come back with restart count 1', async (t) => {
  const a = ctx.agents.a.id;
  const before = await instancesOf(ctx.hub, 'web');
  const webA = before.find((i) => i.device === a);
  const tickerA = (await instancesOf(ctx.hub, 'ticker')).find((i) => i.device === a);
  if (!webA?.containerId || !tickerA?.pid) throw new Error('instances on device a not found');
  await docker('kill', webA.containerId);
  process.kill(tickerA.pid, 'SIGKILL');
  const web = await waitForInstances(ctx.hub, 'web', 2, (i) => running(i) && (i.device !== a || (i.restarts === 1 && i.containerId !== webA.containerId)), 'restarted on a');
  const ticker = await waitForInstances(ctx.hub, 'ticker', 2, (i) => running(i) && (i.device !== a || (i.restarts === 1 && i.pid !== tickerA.pid)), 'restarted on a');
  t.is(web.find((i) => i.device === a)?.lastExitCode, 137, 'docker kill is SIGKILL: 128 + 9');
  t.is(web.find((i) => i.device !== a)?.restarts, 0, 'the other device was not touched');
  t.is(ticker.find((i) => i.device !== a)?.restarts, 0);
});

test.serial('a workload that exits 1 at once is in crash-loop backoff with growing delays', async (t) => {
  const label = await ctx.hub.cli(['label', 'device', ctx.agents.a.id, 'crash=yes']);
  t.is(label.code, 0, label.stderr);
  await applyYaml(ctx.hub, ctx.dir, 'crasher.yaml', `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: crasher }
spec:
  selector: { matchLabels: { crash: "yes" } }
  template:
    runtime: process
    command: ["sh", "-c", "echo boom on purpose; exit 1"]
`);
  const delays = await waitFor(
    'three growing backoff delays',
    async () => {
      const described = await ctx.hub.cli(['describe', 'workload', 'crasher']);
      const found = [...described.stdout.matchAll(/exited with code 1; restarting in (\d+) s/g)].map((m) => Number(m[1]));
      return found.length >= 3 ? found : undefined;
    },
    60_000,
    500,
  );
  t.deepEqual(delays.slice(0, 3), [1, 2, 4], 'the delay doubles (agent started with --crash-backoff 1)');
  const [instance] = await waitForInstances(ctx.hub, 'crasher', 1, (i) => i.phase === 'crash-loop', 'shown as crash-loop');
  t.is(instance?.lastExitCode, 1);
  t.true(instance?.lastLogLines?.some((l) => l.includes('boom on purpose')), 'the last output is reported');
  t.truthy(instance?.nextRestartAt);
  const described = await ctx.hub.cli(['describe', 'workload', 'crasher']);
  t.regex(described.stdout, /crash-loop \(retry in/);
  t.regex(described.stdout, /\| boom on purpose/);
  t.is((await ctx.hub.cli(['delete', 'workload', 'crasher'])).code, 0);
});

test.serial('SIGKILLed agent starts again and adopts its running container: same id, same restart count', async (t) => {
  const a = ctx.agents.a;
  const before = (await instancesOf(ctx.hub, 'web')).find((i) => i.device === a.id);
  await a.proc.kill('SIGKILL');
  const again = startAgent('a');
  a.proc = again;
  await again.waitForOutput(/restored desired generation/);
  await again.waitForOutput(/connected to/);
  // Give the reconciler a few passes to (wrongly) act, then look.
  await new Promise((r) => setTimeout(r, 3000));
  const after = (await instancesOf(ctx.hub, 'web')).find((i) => i.device === a.id);
  t.is(after?.containerId, before?.containerId);
  t.is(after?.restarts, before?.restarts);
  t.is(after?.phase, 'running');
  const containers = await docker('ps', '-q', '--filter', `label=io.edgepilot.device=${a.id}`, '--filter', 'label=io.edgepilot.instance=web');
  t.is(containers.split('\n').filter(Boolean).length, 1, 'no second container');
});

test.serial('without the hub: crashes are restarted, a rebooted agent starts its workloads from the local copy, and the returning hub restarts nothing', async (t) => {
  const { a, b } = ctx.agents;
  await ctx.hub.proc.kill('SIGTERM');
  // 1. A crash while the hub is away is still healed.
  const webA = (await docker('ps', '-q', '--no-trunc', '--filter', `label=io.edgepilot.device=${a.id}`, '--filter', 'label=io.edgepilot.instance=web')).trim();
  await docker('kill', webA);
  const healed = await waitFor('web on a restarted without the hub', async () => {
    const id = (await docker('ps', '-q', '--no-trunc', '--filter', `label=io.edgepilot.device=${a.id}`, '--filter', 'label=io.edgepilot.instance=web')).trim();
    return id !== '' && id !== webA ? id : undefined;
  });
  t.not(healed, webA);
  // 2. "Reboot" device b: agent, containers and processes all gone; then the agent starts with no hub.
  await b.proc.kill('SIGKILL');
  const bContainers = await docker('ps', '-aq', '--filter', `label=io.edgepilot.device=${b.id}`);
  if (bContainers) await docker('rm', '-f', ...bContainers.split('\n'));
  const tickerPidsBefore = await pidsWith(ctx.marker);
  const bState = await readdir(join(b.stateDir, 'processes'));
  for (const folder of bState) {
    const record = JSON.parse(await readFile(join(b.stateDir, 'processes', folder, 'instance.json'), 'utf8')) as { pid?: number };
    if (record.pid) process.kill(-record.pid, 'SIGKILL');
  }
  b.proc = startAgent('b');
  await b.proc.waitForOutput(/restored desired generation/);
  await waitFor('web container on b started from the local copy', async () => (await docker('ps', '-q', '--filter', `label=io.edgepilot.device=${b.id}`, '--filter', 'label=io.edgepilot.instance=web')).trim() !== '');
  await waitFor('ticker process on b started from the local copy', async () => (await pidsWith(ctx.marker)).length >= tickerPidsBefore.length);
  // 3. The hub returns: nothing that did not change is restarted.
  const containersBefore = (await docker('ps', '-q', '--no-trunc', '--filter', 'label=io.edgepilot.instance=web')).split('\n').sort();
  const restartsBefore = await Promise.all([a, b].map(async (agent) => {
    const records = JSON.parse(await readFile(join(agent.stateDir, 'instances.json'), 'utf8')) as { id: string; restarts: number }[];
    return [agent.id, records.find((r) => r.id === 'web')?.restarts] as const;
  }));
  const pidsBefore = (await pidsWith(ctx.marker)).sort();
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: join(ctx.dir, 'hub'), adminToken: ctx.hub.adminToken, ...ctx.ports });
  ctx.procs.push(ctx.hub.proc);
  // The hub restores the reports it stored before it went away; wait for the fresh ones.
  const web = await waitForInstances(ctx.hub, 'web', 2, (i) => running(i) && i.deviceState === 'online' && i.applied && containersBefore.includes(i.containerId ?? ''), 'reported again after the hub returned');
  await new Promise((r) => setTimeout(r, 3000));
  t.deepEqual((await docker('ps', '-q', '--no-trunc', '--filter', 'label=io.edgepilot.instance=web')).split('\n').sort(), containersBefore);
  t.deepEqual((await pidsWith(ctx.marker)).sort(), pidsBefore);
  t.deepEqual(Object.fromEntries(web.map((i) => [i.device, i.restarts])), Object.fromEntries(restartsBefore), 'restart counts unchanged by the hub coming back');
});

test.serial('changing only the env replaces only that workload, and the named volume keeps its file', async (t) => {
  const logsBefore = await ctx.hub.cli(['logs', 'web', '--device', ctx.agents.a.id, '--tail', '5']);
  const marker = /marker=(\S+) version=1/.exec(logsBefore.stdout)?.[1];
  t.truthy(marker, logsBefore.stdout + logsBefore.stderr);
  const webBefore = await instancesOf(ctx.hub, 'web');
  const tickerBefore = await instancesOf(ctx.hub, 'ticker');
  const out = await applyYaml(ctx.hub, ctx.dir, 'web.yaml', webYaml('2'));
  t.regex(out, /workload\/web configured/);
  const unchanged = await ctx.hub.cli(['apply', '-f', join(ctx.dir, 'ticker.yaml')]);
  t.regex(unchanged.stdout, /workload\/ticker unchanged/);
  const revision = webBefore[0]?.revision;
  const webAfter = await waitForInstances(ctx.hub, 'web', 2, (i) => running(i) && i.revision !== revision, 'replaced at the new revision');
  t.true(webAfter.every((i) => !webBefore.some((b) => b.containerId === i.containerId)), 'web containers were replaced');
  const tickerAfter = await instancesOf(ctx.hub, 'ticker');
  t.deepEqual(tickerAfter.map((i) => i.pid).sort(), tickerBefore.map((i) => i.pid).sort(), 'ticker processes untouched');
  const logsAfter = await waitFor('new container logs', async () => {
    const r = await ctx.hub.cli(['logs', 'web', '--device', ctx.agents.a.id, '--tail', '5']);
    return /version=2/.test(r.stdout) ? r.stdout : undefined;
  });
  t.regex(logsAfter, new RegExp(`marker=${marker ?? 'x'} version=2`), 'the file written before the update is still in the volume');
});
