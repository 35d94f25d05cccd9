import test from 'ava';
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { applyYaml, instancesOf, workloads } from '../support/workloads.js';

/**
 * Issue 4 end to end: five agents claiming different zones, archs and peripherals (through
 * --facts-file), a hub that places replicas with the scheduler, evicts them from a dead
 * device after the grace period, places peripheral workloads, and autoscales on a custom metric.
 */
interface Agent {
  name: string;
  zone: string;
  facts: Record<string, unknown>;
  proc?: ManagedProcess;
  id?: string;
}

const ctx = {} as { dir: string; hub: HubHandle; agents: Agent[]; procs: ManagedProcess[]; cleanup(): Promise<void> };

const stm32 = { id: 'stm32f103-0001', model: 'stm32f103', application: 'env-node', serial: '0001', firmwareVersion: '1.0.0', port: '/dev/ttyUSB0', online: true };

async function startAgent(agent: Agent, token?: string): Promise<void> {
  const factsFile = join(ctx.dir, `${agent.name}.facts.json`);
  await writeFile(factsFile, JSON.stringify({ hostname: agent.name, ...agent.facts }));
  agent.proc = startAgentProcess({
    name: agent.name,
    root: ctx.dir,
    hubUrl: ctx.hub.apiUrl,
    ...(token ? { joinToken: token } : {}),
    stateDir: join(ctx.dir, agent.name),
    hardwareId: `sched-${agent.name}-${ctx.dir.slice(-6)}`,
    factsFile,
    extraArgs: ['--metrics-interval', '1', '--crash-backoff', '1'],
  });
  ctx.procs.push(agent.proc);
  agent.id = (await agent.proc.waitForOutput(/running as (\S+)/))[1];
}

test.before(async () => {
  const tmp = await makeTempDir('ep-sched-');
  ctx.dir = tmp.path;
  ctx.procs = [];
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: join(ctx.dir, 'hub'), extraArgs: ['--autoscale-interval', '1'] });
  ctx.procs.push(ctx.hub.proc);
  ctx.agents = [
    { name: 'gw-1', zone: 'z1', facts: { arch: 'arm64', mcus: [stm32] } },
    { name: 'dev-2', zone: 'z1', facts: { arch: 'arm64' } },
    { name: 'dev-3', zone: 'z2', facts: { arch: 'armv7' } },
    { name: 'dev-4', zone: 'z2', facts: { arch: 'arm64' } },
    { name: 'dev-5', zone: 'z3', facts: { arch: 'amd64' } },
  ];
  const tokens = new Map<string, string>();
  for (const zone of ['z1', 'z2', 'z3']) tokens.set(zone, await createJoinToken(ctx.hub, ['--labels', `topology.edgepilot.io/zone=${zone},fleet=sched`]));
  await Promise.all(ctx.agents.map((a) => startAgent(a, tokens.get(a.zone))));
  await waitFor('five devices online with facts', async () => {
    const devices = await ctx.hub.devices();
    return devices.length === 5 && devices.every((d) => d.state === 'online' && d.facts) ? true : undefined;
  });
  ctx.cleanup = async () => {
    await Promise.all(ctx.procs.map((p) => p.kill('SIGKILL')));
    // Process instances are detached from their agent by design; end them too.
    try {
      execFileSync('pkill', ['-9', '-f', marker()]);
    } catch {
      // none left
    }
    await tmp.remove();
  };
});

test.after.always(async () => ctx.cleanup?.());

const marker = (): string => `sched-marker-${ctx.dir.slice(-6)}`;
const zoneOf = (deviceId: string): string | undefined => ctx.agents.find((a) => a.id === deviceId)?.zone;

test.serial('a 6-replica workload spreads 2/2/2 across zones; after a device dies its replicas run elsewhere; back, it runs none', async (t) => {
  await applyYaml(ctx.hub, ctx.dir, 'spread.yaml', `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: spread }
spec:
  replicas: 6
  selector: { matchLabels: { fleet: sched } }
  topologySpread:
    - { topologyKey: topology.edgepilot.io/zone, maxSkew: 1, whenUnsatisfiable: DoNotSchedule }
  offlineGraceSeconds: 3
  template:
    runtime: process
    command: ["sh", "-c", "while true; do sleep 1; done", "${marker()}"]
`);
  const placed = await waitFor('6 replicas running', async () => {
    const instances = await instancesOf(ctx.hub, 'spread');
    return instances.length === 6 && instances.every((i) => i.phase === 'running') ? instances : undefined;
  });
  const perZone = new Map<string, number>();
  for (const i of placed) perZone.set(zoneOf(i.device) ?? '?', (perZone.get(zoneOf(i.device) ?? '?') ?? 0) + 1);
  t.deepEqual(Object.fromEntries([...perZone].sort()), { z1: 2, z2: 2, z3: 2 });

  const victim = ctx.agents.find((a) => a.name === 'dev-2');
  if (!victim?.proc || !victim.id) throw new Error('no dev-2');
  const onVictim = placed.filter((i) => i.device === victim.id);
  t.true(onVictim.length > 0, 'dev-2 had replicas');
  await victim.proc.kill('SIGKILL');
  const moved = await waitFor('replicas placed off the dead device and running', async () => {
    const instances = await instancesOf(ctx.hub, 'spread');
    return instances.length === 6 && instances.every((i) => i.device !== victim.id && i.phase === 'running') ? instances : undefined;
  });
  t.is(new Set(moved.map((i) => i.id)).size, 6, 'six distinct replicas, none counted twice');
  const described = await ctx.hub.cli(['describe', 'workload', 'spread']);
  t.regex(described.stdout, new RegExp(`Evicted .*leaves ${victim.id}`));

  const victimPids = onVictim.map((i) => i.pid).filter((p): p is number => p !== undefined);
  await startAgent(victim);
  await waitFor('the returning device stopped its stale replicas', async () => {
    const alive = victimPids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    return alive.length === 0 ? true : undefined;
  });
  await new Promise((r) => setTimeout(r, 2000));
  const after = await instancesOf(ctx.hub, 'spread');
  t.is(after.length, 6);
  t.false(after.some((i) => i.device === victim.id), 'it runs none of them');
});

test.serial('a workload asking for an stm32f103 peripheral lands only on the gateway that has one', async (t) => {
  await applyYaml(ctx.hub, ctx.dir, 'mcu.yaml', `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: mcu-reader }
spec:
  replicas: 2
  selector: { matchLabels: { fleet: sched } }
  template:
    runtime: process
    command: ["sh", "-c", "while true; do sleep 1; done", "${marker()}"]
    peripherals: [{ kind: mcu, mcu: stm32f103 }]
`);
  const gateway = ctx.agents.find((a) => a.name === 'gw-1')?.id;
  const instances = await waitFor('one replica placed', async () => {
    const list = await instancesOf(ctx.hub, 'mcu-reader');
    return list.length === 1 && list[0]?.phase === 'running' ? list : undefined;
  });
  t.is(instances[0]?.device, gateway);
  const view = (await workloads(ctx.hub)).find((w) => w.name === 'mcu-reader');
  t.regex(view?.status.unplacedReason ?? '', /1 replica\(s\) unplaced: 0\/5 devices fit: 5 no free stm32f103 MCU/);
  const described = await ctx.hub.cli(['describe', 'workload', 'mcu-reader']);
  t.regex(described.stdout, /FailedScheduling/);
  t.regex(described.stdout, new RegExp(`placed on ${gateway ?? 'x'} with MCU stm32f103-0001`));
});

test.serial('autoscaling: replicas grow within max on a rising custom metric and fall after the stabilization window', async (t) => {
  const control = join(ctx.dir, 'queue.json');
  await writeFile(control, JSON.stringify({ queue_depth: 1 }));
  await applyYaml(ctx.hub, ctx.dir, 'scaler.yaml', `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: scaler }
spec:
  replicas: 1
  selector: { matchLabels: { fleet: sched } }
  autoscale: { min: 1, max: 3, metric: { name: queue_depth, targetAverage: 10 }, stabilizationSeconds: 4 }
  template:
    runtime: process
    command: ["sh", "-c", "while true; do cat ${control} > \\"$EDGEPILOT_METRICS_FILE\\"; sleep 0.5; done", "${marker()}"]
`);
  const desiredOf = async (): Promise<number | undefined> => (await workloads(ctx.hub)).find((w) => w.name === 'scaler')?.status.desired;
  await waitFor('one replica running', async () => (await instancesOf(ctx.hub, 'scaler')).some((i) => i.phase === 'running'), 60_000);
  await writeFile(control, JSON.stringify({ queue_depth: 40 }));
  await waitFor('scaled up to the max of 3', async () => ((await desiredOf()) === 3 ? true : undefined), 90_000, 500);
  await waitFor('3 replicas running', async () => ((await instancesOf(ctx.hub, 'scaler')).filter((i) => i.phase === 'running').length === 3 ? true : undefined), 60_000);
  await writeFile(control, JSON.stringify({ queue_depth: 1 }));
  await waitFor('scaled down to 1 after the window', async () => ((await desiredOf()) === 1 ? true : undefined), 90_000, 500);
  const described = await ctx.hub.cli(['describe', 'workload', 'scaler']);
  // Under load a replica may report late, which HPA-style dampening turns into an extra step.
  t.regex(described.stdout, /ScaledUp .*replicas 1 → [23]: queue_depth averages/);
  t.regex(described.stdout, /ScaledDown .*replicas [23] → 1/);
  const top = await ctx.hub.cli(['top', 'workloads']);
  t.is(top.code, 0, top.stderr);
  t.regex(top.stdout, /scaler/);
});

test.serial('cordon keeps new replicas away; drain moves replicas: N instances off within maxUnavailable', async (t) => {
  await applyYaml(ctx.hub, ctx.dir, 'drain.yaml', `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: drainme }
spec:
  replicas: 3
  selector: { matchLabels: { fleet: sched } }
  updateStrategy: { maxUnavailable: 1 }
  template:
    runtime: process
    command: ["sh", "-c", "while true; do sleep 1; done", "${marker()}"]
`);
  const before = await waitFor('3 replicas running', async () => {
    const list = await instancesOf(ctx.hub, 'drainme');
    return list.length === 3 && list.every((i) => i.phase === 'running') ? list : undefined;
  });
  const target = before[0]?.device;
  if (!target) throw new Error('no device');
  const cordon = await ctx.hub.cli(['cordon', target]);
  t.is(cordon.stdout.trim(), `device/${target} cordoned`);
  t.regex((await ctx.hub.cli(['get', 'devices'])).stdout, new RegExp(`${target}\\s+Online,SchedulingDisabled`));
  const drain = await ctx.hub.cli(['drain', target, '--timeout', '2m']);
  t.is(drain.code, 0, drain.stderr);
  t.regex(drain.stdout, new RegExp(`device/${target} drained`));
  const after = await waitFor('replicas running elsewhere', async () => {
    const list = await instancesOf(ctx.hub, 'drainme');
    return list.length === 3 && list.every((i) => i.phase === 'running' && i.device !== target) ? list : undefined;
  });
  t.false(after.some((i) => i.device === target));
  const described = await ctx.hub.cli(['describe', 'workload', 'drainme']);
  t.regex(described.stdout, new RegExp(`Drained .*leaves ${target}`));
  t.is((await ctx.hub.cli(['uncordon', target])).code, 0);
  t.notRegex((await ctx.hub.cli(['get', 'devices'])).stdout, new RegExp(`${target}\\s+Online,SchedulingDisabled`));
});
