import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../support/fleet.js';
import { removeContainersOfDevice } from '../support/docker.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { applyYaml, instancesOf, waitForInstances, workloads } from '../support/workloads.js';

/**
 * Issue 12 end to end, on two agents that report the same board (one lists a serial port and
 * an image it pulled before): spreading, serialDevices placement, `edgepilot restart`, a fixed manifest after a
 * crash loop, and the metrics folders of removed instances.
 */
interface Agent {
  name: string;
  serialPorts: { path: string }[];
  images: string[];
  proc?: ManagedProcess;
  id?: string;
  stateDir?: string;
}

const ctx = {} as { dir: string; hub: HubHandle; agents: Agent[]; procs: ManagedProcess[]; cleanup(): Promise<void> };

const marker = (): string => `twin-marker-${ctx.dir.slice(-6)}`;
const loop = (): string => `["sh", "-c", "while true; do sleep 1; done", "${marker()}"]`;

async function startAgent(agent: Agent, token: string): Promise<void> {
  const factsFile = join(ctx.dir, `${agent.name}.facts.json`);
  // Same board, same load; one has run the image before (the case of issue 12: replicas 2/0 and 3/1).
  const facts = {
    hostname: agent.name,
    arch: 'arm64',
    cpu: { model: 'Cortex-A76', cores: 4 },
    memory: { totalBytes: 8 * 2 ** 30 },
    disk: { totalBytes: 64 * 2 ** 30, freeBytes: 32 * 2 ** 30 },
    serialPorts: agent.serialPorts,
    images: agent.images,
  };
  await writeFile(factsFile, JSON.stringify(facts));
  agent.stateDir = join(ctx.dir, agent.name);
  agent.proc = startAgentProcess({
    name: agent.name,
    root: ctx.dir,
    hubUrl: ctx.hub.apiUrl,
    joinToken: token,
    stateDir: agent.stateDir,
    hardwareId: `twin-${agent.name}-${ctx.dir.slice(-6)}`,
    factsFile,
    // A long first backoff: a fixed manifest must not wait it out.
    extraArgs: ['--crash-backoff', '120'],
  });
  ctx.procs.push(agent.proc);
  agent.id = (await agent.proc.waitForOutput(/running as (\S+)/))[1];
}

test.before(async () => {
  const tmp = await makeTempDir('ep-twins-');
  ctx.dir = tmp.path;
  ctx.procs = [];
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: join(ctx.dir, 'hub') });
  ctx.procs.push(ctx.hub.proc);
  ctx.agents = [
    { name: 'twin-a', serialPorts: [{ path: '/dev/ttyUSB0' }], images: ['local/busybox:latest'] },
    { name: 'twin-b', serialPorts: [], images: [] },
  ];
  const token = await createJoinToken(ctx.hub, ['--labels', 'fleet=twins']);
  await Promise.all(ctx.agents.map((a) => startAgent(a, token)));
  await waitFor('two devices online with facts', async () => {
    const devices = await ctx.hub.devices();
    return devices.length === 2 && devices.every((d) => d.state === 'online' && d.facts) ? true : undefined;
  });
  ctx.cleanup = async () => {
    await Promise.all(ctx.procs.map((p) => p.kill('SIGKILL')));
    for (const a of ctx.agents) if (a.id) await removeContainersOfDevice(a.id);
    try {
      execFileSync('pkill', ['-9', '-f', marker()]);
    } catch {
      // none left
    }
    await tmp.remove();
  };
});

test.after.always(async () => ctx.cleanup?.());

function perDevice(instances: { device: string }[]): number[] {
  const counts = new Map<string, number>(ctx.agents.map((a) => [a.id ?? '?', 0]));
  for (const i of instances) counts.set(i.device, (counts.get(i.device) ?? 0) + 1);
  return [...counts.values()].sort();
}

async function deleteWorkload(name: string): Promise<void> {
  const result = await ctx.hub.cli(['delete', 'workload', name]);
  if (result.code !== 0) throw new Error(`delete ${name}: ${result.stderr}`);
}

const metricsFolder = (agent: Agent, instanceId: string): string => join(agent.stateDir ?? '', 'metrics', instanceId);
const agentOf = (deviceId: string): Agent => ctx.agents.find((a) => a.id === deviceId) ?? ctx.agents[0]!;

test.serial('replicas: 2 on two equal idle devices → 1/1; replicas: 4 → 2/2, though one already holds the image; metrics folders are private and go with their instances', async (t) => {
  const manifest = (replicas: number): string => `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: spread }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { fleet: twins } }
  template: { runtime: container, image: local/busybox:latest, command: ["sh", "-c", "while true; do sleep 1; done"] }
`;
  await applyYaml(ctx.hub, ctx.dir, 'spread2.yaml', manifest(2));
  const two = await waitForInstances(ctx.hub, 'spread', 2, (i) => i.phase === 'running', '2 running');
  t.deepEqual(perDevice(two), [1, 1]);

  // The metrics folder of a running instance is the agent's and the instance's only.
  for (const i of two) t.is((await stat(metricsFolder(agentOf(i.device), i.id))).mode & 0o777, 0o700, `${i.id} metrics folder mode`);
  t.is((await stat(join(ctx.agents[0]?.stateDir ?? '', 'metrics'))).mode & 0o777, 0o700);

  await applyYaml(ctx.hub, ctx.dir, 'spread4.yaml', manifest(4));
  const four = await waitForInstances(ctx.hub, 'spread', 4, (i) => i.phase === 'running', '4 running');
  t.deepEqual(perDevice(four), [2, 2]);

  await deleteWorkload('spread');
  await waitFor('the instances stopped and their metrics folders removed', async () =>
    four.every((i) => !existsSync(metricsFolder(agentOf(i.device), i.id))) ? true : undefined,
  );
  t.pass();
});

test.serial('serialDevices: only the device whose facts list the port gets replicas; replicas: all says why the other has none', async (t) => {
  const a = ctx.agents[0];
  await applyYaml(ctx.hub, ctx.dir, 'serial.yaml', `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: serial-reader }
spec:
  replicas: 2
  selector: { matchLabels: { fleet: twins } }
  template: { runtime: process, command: ${loop()}, serialDevices: [/dev/ttyUSB0] }
---
apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: serial-daemon }
spec:
  replicas: all
  selector: { matchLabels: { fleet: twins } }
  template: { runtime: process, command: ${loop()}, serialDevices: [/dev/ttyUSB0] }
`);
  const readers = await waitForInstances(ctx.hub, 'serial-reader', 2, () => true, '2 instances reported');
  t.true(readers.every((i) => i.device === a?.id), JSON.stringify(readers.map((i) => i.device)));
  const daemons = await waitForInstances(ctx.hub, 'serial-daemon', 1, () => true, '1 instance reported');
  t.is(daemons[0]?.device, a?.id);
  const view = (await workloads(ctx.hub)).find((w) => w.name === 'serial-daemon');
  t.is(view?.status.unplacedReason, '0/1 devices fit: 1 missing serial device /dev/ttyUSB0');
  const described = await ctx.hub.cli(['describe', 'workload', 'serial-daemon']);
  t.regex(described.stdout, /FailedScheduling .*missing serial device \/dev\/ttyUSB0/);
  await deleteWorkload('serial-reader');
  await deleteWorkload('serial-daemon');
});

test.serial('edgepilot restart restarts the instance without counting it as a crash', async (t) => {
  await applyYaml(ctx.hub, ctx.dir, 'restartme.yaml', `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: restartme }
spec:
  replicas: 1
  selector: { matchLabels: { fleet: twins } }
  template: { runtime: process, command: ${loop()} }
`);
  const [before] = await waitForInstances(ctx.hub, 'restartme', 1, (i) => i.phase === 'running' && i.pid !== undefined, 'running');
  t.is(before?.restarts, 0);
  const restart = await ctx.hub.cli(['restart', 'restartme']);
  t.is(restart.code, 0, restart.stderr);
  const [after] = await waitForInstances(ctx.hub, 'restartme', 1, (i) => i.phase === 'running' && i.pid !== undefined && i.pid !== before?.pid, 'running again with a new pid');
  t.is(after?.restarts, 0, 'a requested restart is not a crash');
  const described = await ctx.hub.cli(['describe', 'workload', 'restartme']);
  t.regex(described.stdout, /Restarting .*stopped on request/);
  const help = await ctx.hub.cli(['restart', '--help']);
  t.regex(help.stdout, /not counted as crashes/);
  await deleteWorkload('restartme');
});

test.serial("a fixed manifest starts the new revision at once, not after the old revision's crash-loop backoff", async (t) => {
  const manifest = (command: string): string => `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: crashy }
spec:
  replicas: 1
  selector: { matchLabels: { fleet: twins } }
  template: { runtime: process, command: ${command} }
`;
  await applyYaml(ctx.hub, ctx.dir, 'crashy.yaml', manifest(`["sh", "-c", "exit 3", "${marker()}"]`));
  const [looping] = await waitForInstances(ctx.hub, 'crashy', 1, (i) => i.phase === 'crash-loop' && i.nextRestartAt !== undefined, 'in crash-loop backoff');
  const oldDeadline = Date.parse(looping?.nextRestartAt ?? '');
  await applyYaml(ctx.hub, ctx.dir, 'crashy.yaml', manifest(loop()));
  const revision = (await workloads(ctx.hub)).find((w) => w.name === 'crashy')?.revision;
  const [fixed] = await waitForInstances(ctx.hub, 'crashy', 1, (i) => i.revision === revision && i.phase === 'running', 'the fixed revision running', 90_000);
  // Both times come from the same agent's clock: the new revision did not wait for the old deadline.
  t.true(Date.parse(fixed?.startedAt ?? '') < oldDeadline, `started ${fixed?.startedAt ?? '?'}, old backoff until ${looping?.nextRestartAt ?? '?'}`);
  t.is(fixed?.restarts, 0, 'a new revision starts with no restarts');
  await deleteWorkload('crashy');
  t.deepEqual(await instancesOf(ctx.hub, 'crashy'), []);
});
