import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rolloutViewSchema, type RolloutView } from '../../src/protocol/index.js';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../support/fleet.js';
import { freePort } from '../support/mosquitto.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { applyYaml, instancesOf } from '../support/workloads.js';

/**
 * Issue 8 end to end: a hub and four agents as processes (sites a and b), process workloads
 * (each start of an instance appends its revision to a file in its volume, so the test counts
 * instance starts per device), releases and rollouts applied with the CLI. Tests run one after
 * another on the same fleet, each with its own workload, so their releases do not meet.
 */
interface Agent {
  name: string;
  site: string;
  proc?: ManagedProcess;
  id?: string;
}

const ctx = {} as { dir: string; hub: HubHandle; ports: { apiPort: number; mqttPort: number }; agents: Agent[]; token: string; procs: ManagedProcess[]; cleanup(): Promise<void> };
const marker = (): string => `ep-ro-marker-${ctx.dir.slice(-6)}`;

function startAgent(agent: Agent, token?: string): ManagedProcess {
  const proc = startAgentProcess({
    name: agent.name,
    root: ctx.dir,
    hubUrl: ctx.hub.apiUrl,
    ...(token ? { joinToken: token } : {}),
    stateDir: join(ctx.dir, agent.name),
    hardwareId: `ro-${agent.name}-${ctx.dir.slice(-6)}`,
    extraArgs: ['--crash-backoff', '1'],
  });
  ctx.procs.push(proc);
  agent.proc = proc;
  return proc;
}

test.before(async () => {
  const tmp = await makeTempDir('ep-rollout-');
  ctx.dir = tmp.path;
  ctx.procs = [];
  ctx.ports = { apiPort: await freePort(), mqttPort: await freePort() };
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: join(ctx.dir, 'hub'), ...ctx.ports });
  ctx.procs.push(ctx.hub.proc);
  ctx.agents = [
    { name: 'a1', site: 'a' },
    { name: 'a2', site: 'a' },
    { name: 'b1', site: 'b' },
    { name: 'b2', site: 'b' },
  ];
  const tokens = new Map<string, string>();
  for (const site of ['a', 'b']) tokens.set(site, await createJoinToken(ctx.hub, ['--labels', `site=${site},fleet=ro`]));
  await Promise.all(
    ctx.agents.map(async (a) => {
      a.id = (await startAgent(a, tokens.get(a.site)).waitForOutput(/running as (\S+)/))[1];
    }),
  );
  await waitFor('four devices online', async () => {
    const devices = await ctx.hub.devices();
    return devices.length === 4 && devices.every((d) => d.state === 'online') ? true : undefined;
  });
  ctx.cleanup = async () => {
    await Promise.all(ctx.procs.map((p) => p.kill('SIGKILL')));
    try {
      execFileSync('pkill', ['-9', '-f', marker()]);
    } catch {
      // none left
    }
    await tmp.remove();
  };
});

test.after.always(async () => ctx.cleanup?.());

/** A process template whose every start appends its revision to `<volume>/starts`. */
function template(version: string, crash = false): string {
  const tail = crash ? 'exit 3' : 'while :; do sleep 1; done';
  return `
      runtime: process
      command: [sh, -c, 'echo "$EDGEPILOT_REVISION" >> "$EDGEPILOT_VOLUME_DATA/starts"; ${tail}', ${marker()}]
      env: { VERSION: "${version}" }
      volumes: [{ name: data, mountPath: /data }]
      terminationGracePeriodSeconds: 1`;
}

function workloadYaml(name: string, selector = 'fleet: ro'): string {
  return `apiVersion: edgepilot.io/v1
kind: Workload
metadata: { name: ${name} }
spec:
  replicas: all
  selector: { matchLabels: { ${selector} } }
  template:${template('1').replace(/\n {6}/g, '\n    ')}
`;
}

function releaseYaml(name: string, version: string, workload: string, crash = false): string {
  return `apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: ${name} }
spec:
  version: ${version}
  workloads:
    ${workload}:${template(version, crash)}
`;
}

const wave = (extra: string): string => `    - { ${extra}, minHealthySeconds: 1, healthyDeadlineSeconds: 20, progressDeadlineSeconds: 60 }`;

async function rollout(name: string): Promise<RolloutView> {
  const result = await ctx.hub.cli(['rollout', 'status', name, '-o', 'json']);
  if (result.code !== 0) throw new Error(`rollout status failed: ${result.stderr}`);
  return rolloutViewSchema.parse(JSON.parse(result.stdout));
}

async function fetchRollout(name: string): Promise<RolloutView> {
  const res = await fetch(`${ctx.hub.apiUrl}/v1/rollouts/${name}`, { headers: { authorization: `Bearer ${ctx.hub.adminToken}` } });
  return rolloutViewSchema.parse(await res.json());
}

/** The revisions each start of `workload`'s instance on `agent` ran, in order. */
async function starts(agent: Agent, workload: string): Promise<string[]> {
  const text = await readFile(join(ctx.dir, agent.name, 'volumes', workload, 'data', 'starts'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean);
}

async function deployV1(workload: string): Promise<string> {
  await applyYaml(ctx.hub, ctx.dir, `${workload}.yaml`, workloadYaml(workload));
  const running = await waitFor(`${workload} v1 running everywhere`, async () => {
    const instances = await instancesOf(ctx.hub, workload);
    return instances.length === 4 && instances.every((i) => i.phase === 'running' && i.ready) ? instances : undefined;
  }, 60_000, 300);
  const v1 = running[0]?.revision ?? '';
  return v1;
}

const agentById = (id: string): Agent => ctx.agents.find((a) => a.id === id) as Agent;

test.serial('a 3-wave rollout replaces each device\'s instance only in its wave and ends with the new release everywhere', async (t) => {
  const v1 = await deployV1('app1');
  await applyYaml(ctx.hub, ctx.dir, 'rel1.yaml', releaseYaml('app1-rel', '2.0.0', 'app1'));
  const rel = await ctx.hub.cli(['get', 'releases', '-o', 'json']);
  t.regex(rel.stdout, /"version": "2.0.0"/);
  // Immutable: the same name and version with other content is refused, naming why.
  const changed = join(ctx.dir, 'rel1-changed.yaml');
  await writeFile(changed, releaseYaml('app1-rel', '2.0.0', 'app1', true));
  const refused = await ctx.hub.cli(['release', 'create', '-f', changed]);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /immutable/);

  const rolloutFile = join(ctx.dir, 'ro1.yaml');
  await writeFile(
    rolloutFile,
    `apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: ro1 }
spec:
  selector: { matchLabels: { fleet: ro } }
  release: { name: app1-rel, version: 2.0.0 }
  waves:
${wave('name: canary, count: 1')}
${wave('name: site-a, selector: { matchLabels: { site: a } }')}
${wave('name: rest, percent: 100')}
`,
  );
  const started = await ctx.hub.cli(['rollout', 'start', '-f', rolloutFile]);
  t.is(started.code, 0, started.stderr);
  t.regex(started.stdout, /rollout\/ro1 started/);

  // While the canary wave runs, devices of later waves still run v1 and were started once.
  const plan = await rollout('ro1');
  const inWave = (w: number): string[] => plan.devices.filter((d) => d.wave === w).map((d) => d.id);
  t.is(inWave(0).length, 1);
  t.deepEqual(inWave(1).map((id) => agentById(id).site).filter((s) => s !== 'a'), []);
  const seen: { wave: number; changedBefore: string[] }[] = [];
  let lastWave = -1;
  const final = await waitFor('ro1 completed', async () => {
    const r = await fetchRollout('ro1');
    if (r.currentWave !== lastWave && r.currentWave >= 0) {
      lastWave = r.currentWave;
      // Devices of later waves must not have been touched when a wave starts.
      const later = r.devices.filter((d) => d.wave > r.currentWave);
      const touched: string[] = [];
      for (const d of later) if ((await starts(agentById(d.id), 'app1')).length !== 1) touched.push(d.id);
      seen.push({ wave: r.currentWave, changedBefore: touched });
    }
    return r.phase === 'completed' ? r : undefined;
  }, 120_000, 200);
  t.true(seen.every((s) => s.changedBefore.length === 0), `later waves untouched: ${JSON.stringify(seen)}`);
  t.true(final.devices.every((d) => d.state === 'healthy'), JSON.stringify(final.devices));
  t.deepEqual(final.waves.map((w) => w.state), ['succeeded', 'succeeded', 'succeeded']);
  const instances = await instancesOf(ctx.hub, 'app1');
  const v2 = instances[0]?.revision ?? '';
  t.not(v2, v1);
  t.true(instances.every((i) => i.revision === v2 && i.phase === 'running'));
  for (const a of ctx.agents) {
    const s = await waitFor(`${a.name} wrote its v2 start`, async () => ((await starts(a, 'app1')).length >= 2 ? starts(a, 'app1') : undefined));
    t.deepEqual(s, [v1, v2], `${a.name}: started once with v1, once with v2`);
  }
  const status = await ctx.hub.cli(['rollout', 'status', 'ro1']);
  t.regex(status.stdout, /wave 2 rest\s+succeeded\s+healthy \d of \d/);
  const history = await ctx.hub.cli(['rollout', 'history', 'ro1']);
  t.regex(history.stdout, /completed/);
  const described = await ctx.hub.cli(['describe', 'device', ctx.agents[0]?.id ?? '']);
  t.regex(described.stdout, /Release:\s+app1-rel@2\.0\.0/);
  t.regex(described.stdout, /Rollout:\s+ro1 \(completed\): wave \d, healthy/);
});

test.serial('a crash-looping release fails the canary, rolls back the canary and leaves later waves untouched', async (t) => {
  const v1 = await deployV1('app2');
  await applyYaml(ctx.hub, ctx.dir, 'rel2.yaml', releaseYaml('app2-rel', '2.0.0', 'app2', true));
  await applyYaml(
    ctx.hub,
    ctx.dir,
    'ro2.yaml',
    `apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: ro2 }
spec:
  selector: { matchLabels: { fleet: ro } }
  release: { name: app2-rel, version: 2.0.0 }
  waves:
${wave('name: canary, count: 1')}
${wave('name: rest, percent: 100')}
`,
  );
  const final = await waitFor('ro2 rolled back', async () => {
    const r = await fetchRollout('ro2');
    return r.phase === 'rolled-back' ? r : undefined;
  }, 90_000, 200);
  const canary = final.devices.filter((d) => d.wave === 0);
  t.is(canary.length, 1);
  t.is(canary[0]?.state, 'rolled-back');
  t.deepEqual(final.devices.filter((d) => d.wave === 1).map((d) => d.state), ['pending', 'pending', 'pending']);
  t.is(final.waves[0]?.state, 'failed');
  await waitFor('every app2 instance on v1 again', async () => {
    const instances = await instancesOf(ctx.hub, 'app2');
    return instances.length === 4 && instances.every((i) => i.revision === v1 && i.phase === 'running') ? true : undefined;
  }, 60_000, 300);
  for (const a of ctx.agents) {
    const s = await starts(a, 'app2');
    if (a.id === canary[0]?.id) {
      // The agent keeps the old revision running until the new one is ready, so the canary's
      // v1 instance may never have stopped: it ran the crashing release beside it, then only v1.
      t.is(s[0], v1);
      t.true(s.slice(1).some((r) => r !== v1), 'the canary started the crashing release');
    } else t.deepEqual(s, [v1], `${a.name} was never touched`);
  }
});

test.serial('health counts only the release\'s workloads placed on each device: a site-a-only workload does not hold site b back', async (t) => {
  await deployV1('app3');
  await applyYaml(ctx.hub, ctx.dir, 'app3a.yaml', workloadYaml('app3a', 'site: a'));
  await waitFor('app3a v1 running on site a', async () => {
    const instances = await instancesOf(ctx.hub, 'app3a');
    return instances.length === 2 && instances.every((i) => i.phase === 'running' && i.ready) ? true : undefined;
  }, 60_000, 300);
  // -o json|yaml on the commands that change things: the object as stored afterwards.
  const relFile = join(ctx.dir, 'rel3.yaml');
  await writeFile(
    relFile,
    `apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: app3-rel }
spec:
  version: 2.0.0
  workloads:
    app3:${template('2.0.0')}
    app3a:${template('2.0.0')}
`,
  );
  const created = await ctx.hub.cli(['release', 'create', '-f', relFile, '-o', 'json']);
  t.is(created.code, 0, created.stderr);
  t.like(JSON.parse(created.stdout), { name: 'app3-rel', version: '2.0.0' });
  t.regex((JSON.parse(created.stdout) as { digest: string }).digest, /^sha256:/);
  const roFile = join(ctx.dir, 'ro3.yaml');
  await writeFile(roFile, rolloutYaml('ro3', 'app3-rel', [wave('name: site-b, selector: { matchLabels: { site: b } }'), wave('name: rest, percent: 100')]));
  const started = await ctx.hub.cli(['rollout', 'start', '-f', roFile, '-o', 'yaml']);
  t.is(started.code, 0, started.stderr);
  t.regex(started.stdout, /^name: ro3$/m);
  const wrong = await ctx.hub.cli(['rollout', 'pause', 'ro3', '-o', 'wide']);
  t.not(wrong.code, 0);
  t.regex(wrong.stderr, /-o wide: this command prints json or yaml/);
  const done = await waitFor('ro3 finished', async () => {
    const r = await fetchRollout('ro3');
    return r.phase === 'completed' || r.phase === 'rolled-back' ? r : undefined;
  }, 90_000, 200);
  t.is(done.phase, 'completed', JSON.stringify(done.devices));
  t.true(done.devices.every((d) => d.state === 'healthy'));
  // app3a still runs on site a only, now on the release's template; site b never got it.
  const a3a = await instancesOf(ctx.hub, 'app3a');
  t.deepEqual(a3a.map((i) => agentById(i.device).site).sort(), ['a', 'a']);
  for (const b of ctx.agents.filter((x) => x.site === 'b')) t.deepEqual(await starts(b, 'app3a'), []);
  for (const a of ctx.agents.filter((x) => x.site === 'a')) t.is((await starts(a, 'app3a')).length, 2, `${a.name}: v1, then the release`);
});

function rolloutYaml(name: string, release: string, waves: string[]): string {
  return `apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: ${name} }
spec:
  selector: { matchLabels: { fleet: ro } }
  release: { name: ${release}, version: 2.0.0 }
  waves:
${waves.join('\n')}
`;
}

test.serial('an agent stopped during its wave is deferred, the rollout completes, and the agent converges when it returns', async (t) => {
  const v1 = await deployV1('app6');
  await applyYaml(ctx.hub, ctx.dir, 'rel6.yaml', releaseYaml('app6-rel', '2.0.0', 'app6'));
  const slow = (extra: string): string => `    - { ${extra}, minHealthySeconds: 3, healthyDeadlineSeconds: 30, progressDeadlineSeconds: 60, maxUnavailable: 1 }`;
  await applyYaml(ctx.hub, ctx.dir, 'ro6.yaml', rolloutYaml('ro6', 'app6-rel', [slow('name: site-a, selector: { matchLabels: { site: a } }'), slow('name: site-b, percent: 100')]));
  // When site b's wave starts, stop the agent of one of its devices not yet healthy.
  const victimId = await waitFor('wave 1 active', async () => {
    const r = await fetchRollout('ro6');
    if (r.currentWave !== 1) return undefined;
    return r.devices.find((d) => d.wave === 1 && (d.state === 'pending' || d.state === 'updating'))?.id;
  }, 60_000, 100);
  const victim = agentById(victimId);
  await victim.proc?.kill('SIGKILL');
  const done = await waitFor('ro6 completed', async () => {
    const r = await fetchRollout('ro6');
    return r.phase === 'completed' ? r : undefined;
  }, 90_000, 200);
  t.is(done.devices.find((d) => d.id === victimId)?.state, 'deferred');
  t.is(done.waves[1]?.state, 'succeeded', 'a deferred device does not fail its wave');
  t.true(done.devices.filter((d) => d.id !== victimId).every((d) => d.state === 'healthy'));
  // Back: it gets the release although the rollout is completed.
  startAgent(victim);
  const back = await waitFor('the returned device healthy', async () => {
    const r = await fetchRollout('ro6');
    return r.devices.find((d) => d.id === victimId)?.state === 'healthy' ? r : undefined;
  }, 90_000, 200);
  t.is(back.phase, 'completed');
  const s = await waitFor(`${victim.name} on v2`, async () => {
    const now = await starts(victim, 'app6');
    return now.length >= 2 && now.at(-1) !== v1 ? now : undefined;
  });
  t.is(s[0], v1);
});

test.serial('the hub SIGKILLed mid-wave resumes the rollout: every device updated exactly once', async (t) => {
  const v1 = await deployV1('app5');
  await applyYaml(ctx.hub, ctx.dir, 'rel5.yaml', releaseYaml('app5-rel', '2.0.0', 'app5'));
  const soak = (extra: string): string => `    - { ${extra}, minHealthySeconds: 2, healthyDeadlineSeconds: 30, progressDeadlineSeconds: 60 }`;
  await applyYaml(ctx.hub, ctx.dir, 'ro5.yaml', rolloutYaml('ro5', 'app5-rel', [soak('count: 1'), soak('count: 1'), soak('percent: 100')]));
  await waitFor('wave 1 in flight', async () => {
    const r = await fetchRollout('ro5');
    return r.currentWave === 1 && r.devices.some((d) => d.wave === 1 && d.state !== 'pending') ? r : undefined;
  }, 60_000, 50);
  await ctx.hub.proc.kill('SIGKILL');
  const old = ctx.hub;
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: join(ctx.dir, 'hub'), adminToken: old.adminToken, ...ctx.ports });
  ctx.procs.push(ctx.hub.proc);
  const done = await waitFor('ro5 completed after the restart', async () => {
    const r = await fetchRollout('ro5');
    return r.phase === 'completed' ? r : undefined;
  }, 120_000, 200);
  t.true(done.devices.every((d) => d.state === 'healthy'), JSON.stringify(done.devices));
  t.deepEqual(done.waves.map((w) => w.state), ['succeeded', 'succeeded', 'succeeded']);
  for (const a of ctx.agents) {
    const s = await waitFor(`${a.name} wrote its v2 start`, async () => ((await starts(a, 'app5')).length >= 2 ? starts(a, 'app5') : undefined));
    t.is(s.length, 2, `${a.name}: one start of v1, one of v2: ${JSON.stringify(s)}`);
    t.is(s[0], v1);
    t.not(s[1], v1);
  }
});

test.serial('installs wait for a window that opens seconds after the start; a deny window blocks them', async (t) => {
  const v1 = await deployV1('app4');
  await applyYaml(ctx.hub, ctx.dir, 'rel4.yaml', releaseYaml('app4-rel', '2.0.0', 'app4'));
  // Site a: an allow window opening 8 s from now (6-field cron, seconds first, UTC).
  const opens = new Date(Date.now() + 8000);
  const cron = `${opens.getUTCSeconds()} ${opens.getUTCMinutes()} ${opens.getUTCHours()} * * *`;
  // Site b: a deny window always in force (every minute, an hour long).
  await applyYaml(
    ctx.hub,
    ctx.dir,
    'windows.yaml',
    `apiVersion: edgepilot.io/v1
kind: MaintenanceWindow
metadata: { name: site-a-soon }
spec:
  selector: { matchLabels: { site: a } }
  schedule: "${cron}"
  duration: 10m
  timeZone: UTC
  mode: allow
---
apiVersion: edgepilot.io/v1
kind: MaintenanceWindow
metadata: { name: site-b-frozen }
spec:
  selector: { matchLabels: { site: b } }
  schedule: "* * * * *"
  duration: 1h
  mode: deny
`,
  );
  await applyYaml(ctx.hub, ctx.dir, 'ro4.yaml', rolloutYaml('ro4', 'app4-rel', [`    - { percent: 100, maxUnavailable: 4, minHealthySeconds: 1, healthyDeadlineSeconds: 30, progressDeadlineSeconds: 60 }`]));
  const siteA = ctx.agents.filter((a) => a.site === 'a');
  const siteB = ctx.agents.filter((a) => a.site === 'b');
  const waiting = await waitFor('site a waiting for its window', async () => {
    const r = await fetchRollout('ro4');
    return siteA.every((a) => r.devices.find((d) => d.id === a.id)?.state === 'waiting-window') ? r : undefined;
  }, 30_000, 100);
  t.true(Date.now() < opens.getTime(), 'seen before the window opened');
  for (const a of siteA) t.deepEqual(await starts(a, 'app4'), [v1], `${a.name}: nothing installed before the window`);
  for (const b of siteB) t.is(waiting.devices.find((d) => d.id === b.id)?.state, 'deferred');
  const done = await waitFor('ro4 completed', async () => {
    const r = await fetchRollout('ro4');
    return r.phase === 'completed' ? r : undefined;
  }, 90_000, 200);
  for (const a of siteA) {
    t.is(done.devices.find((d) => d.id === a.id)?.state, 'healthy');
    const s = await waitFor(`${a.name} on v2`, async () => ((await starts(a, 'app4')).length >= 2 ? starts(a, 'app4') : undefined));
    t.is(s.length, 2);
  }
  for (const b of siteB) {
    t.regex(done.devices.find((d) => d.id === b.id)?.reason ?? '', /window/);
    t.deepEqual(await starts(b, 'app4'), [v1], `${b.name}: the deny window kept the release off`);
  }
  // ro4 still owes site b the release: another rollout for those devices is refused, naming it.
  const conflict = join(ctx.dir, 'ro-conflict.yaml');
  await writeFile(conflict, rolloutYaml('ro-conflict', 'app4-rel', ['    - { percent: 100 }']));
  const refused = await ctx.hub.cli(['rollout', 'start', '-f', conflict]);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /rollout ro4 owns 2 of its devices/);
  const aborted = await ctx.hub.cli(['rollout', 'abort', 'ro4', '--reason', 'test over', '-o', 'json']);
  t.is(aborted.code, 0, aborted.stderr);
  t.is(rolloutViewSchema.parse(JSON.parse(aborted.stdout)).phase, 'aborted');
});
