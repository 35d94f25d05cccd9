import test from 'ava';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cronJobDetailSchema, jobDetailSchema, type CronJobDetail, type JobDetail } from '../../src/protocol/index.js';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../support/fleet.js';
import { freePort } from '../support/mosquitto.js';
import { makeTempDir } from '../support/paths.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { applyYaml } from '../support/workloads.js';

/**
 * Issue 9 end to end, with a hub and agents as processes: CronJobs kept and fired by the devices while
 * the hub is away, missed slots after an agent restart (RunOnce / Skip), concurrency policies, and Jobs.
 */
interface Agent {
  name: string;
  proc?: ManagedProcess;
  id?: string;
}

const ctx = {} as { dir: string; hub: HubHandle; dataDir: string; ports: { apiPort: number; mqttPort: number }; agents: Agent[]; procs: ManagedProcess[]; tokens: Map<string, string>; cleanup?: () => Promise<void> };

async function startAgent(agent: Agent): Promise<void> {
  const token = ctx.tokens.get(agent.name);
  agent.proc = startAgentProcess({
    name: agent.name,
    root: ctx.dir,
    hubUrl: ctx.hub.apiUrl,
    ...(token ? { joinToken: token } : {}),
    stateDir: join(ctx.dir, agent.name),
    hardwareId: `jobs-${agent.name}-${ctx.dir.slice(-6)}`,
    extraArgs: ['--crash-backoff', '1'],
  });
  ctx.procs.push(agent.proc);
  agent.id = (await agent.proc.waitForOutput(/running as (\S+)/))[1];
}

const agent = (name: string): Agent & { id: string; proc: ManagedProcess } => {
  const a = ctx.agents.find((x) => x.name === name);
  if (!a?.id || !a.proc) throw new Error(`no agent ${name}`);
  return a as Agent & { id: string; proc: ManagedProcess };
};

async function cronJob(name: string): Promise<CronJobDetail> {
  const result = await ctx.hub.cli(['describe', 'cronjob', name, '-o', 'json']);
  if (result.code !== 0) throw new Error(`describe cronjob ${name}: ${result.stderr}`);
  return cronJobDetailSchema.parse(JSON.parse(result.stdout));
}

async function jobDetail(name: string): Promise<JobDetail> {
  const result = await ctx.hub.cli(['describe', 'job', name, '-o', 'json']);
  if (result.code !== 0) throw new Error(`describe job ${name}: ${result.stderr}`);
  return jobDetailSchema.parse(JSON.parse(result.stdout));
}

const cronYaml = (name: string, node: string, schedule: string, command: string, extra = ''): string => `apiVersion: edgepilot.io/v1
kind: CronJob
metadata: { name: ${name} }
spec:
  schedule: "${schedule}"
  selector: { matchLabels: { node: ${node} } }
${extra}  jobTemplate:
    template:
      runtime: process
      command: ["sh", "-c", ${JSON.stringify(command)}]
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test.before(async () => {
  const tmp = await makeTempDir('ep-jobs-');
  ctx.dir = tmp.path;
  ctx.procs = [];
  ctx.dataDir = join(ctx.dir, 'hub');
  ctx.ports = { apiPort: await freePort(), mqttPort: await freePort() };
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: ctx.dataDir, ...ctx.ports });
  ctx.procs.push(ctx.hub.proc);
  ctx.agents = [{ name: 'a' }, { name: 'b' }, { name: 'c' }];
  ctx.tokens = new Map();
  for (const a of ctx.agents) ctx.tokens.set(a.name, await createJoinToken(ctx.hub, ['--labels', `node=${a.name},fleet=jobs${a.name === 'c' ? '' : ',pair=ab'}`]));
  await Promise.all(ctx.agents.map((a) => startAgent(a)));
  await waitFor('three devices online with facts', async () => {
    const devices = await ctx.hub.devices();
    return devices.length === 3 && devices.every((d) => d.state === 'online' && d.facts) ? true : undefined;
  });
  ctx.cleanup = async () => {
    await Promise.all(ctx.procs.map((p) => p.kill('SIGKILL')));
    await tmp.remove();
  };
});

test.after.always(async () => ctx.cleanup?.());

test.serial('must-show 1: a two-second CronJob runs on two agents while the hub is stopped; afterwards every run is listed with exit code and output', async (t) => {
  await applyYaml(
    ctx.hub,
    ctx.dir,
    'every2.yaml',
    `apiVersion: edgepilot.io/v1
kind: CronJob
metadata: { name: every2 }
spec:
  schedule: "*/2 * * * * *"
  selector: { matchLabels: { pair: ab } }
  jobTemplate:
    template:
      runtime: process
      command: ["sh", "-c", "echo tick from $(hostname)"]
`,
  );
  const [a, b] = [agent('a'), agent('b')];
  await waitFor('both devices report runs', async () => {
    const runs = (await cronJob('every2')).runs.filter((r) => r.reason === 'completed');
    return [a.id, b.id].every((id) => runs.filter((r) => r.device === id).length >= 2) ? true : undefined;
  }, 30_000, 300);

  const lastBefore = Math.max(...(await cronJob('every2')).runs.map((r) => Date.parse(r.scheduledAt ?? '0')));
  await ctx.hub.proc.kill('SIGTERM');
  await sleep(10_000);
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: ctx.dataDir, adminToken: ctx.hub.adminToken, ...ctx.ports });
  ctx.procs.push(ctx.hub.proc);
  const restartedAt = Date.now();

  // Runs made while the hub was away arrive from the agents' outboxes.
  const detail = await waitFor('runs made during the outage are listed', async () => {
    const d = await cronJob('every2');
    const ok = [a.id, b.id].every((id) => d.runs.some((r) => r.device === id && Date.parse(r.scheduledAt ?? '0') >= restartedAt));
    return ok ? d : undefined;
  }, 30_000, 500);
  for (const id of [a.id, b.id]) {
    const mine = detail.runs.filter((r) => r.device === id && Date.parse(r.scheduledAt ?? '0') > lastBefore && Date.parse(r.scheduledAt ?? '0') < restartedAt);
    t.true(mine.length >= 4, `${id}: ${mine.length} runs during the outage`);
    const slots = mine.map((r) => Date.parse(r.scheduledAt ?? '0')).sort((x, y) => x - y);
    // Every two-second slot of the outage is there: no gaps.
    for (let i = 1; i < slots.length; i += 1) t.is((slots[i] ?? 0) - (slots[i - 1] ?? 0), 2000, `${id}: slots ${slots[i - 1]} → ${slots[i]}`);
    for (const r of mine) {
      t.is(r.reason, 'completed');
      t.is(r.exitCode, 0);
      t.regex(r.output.join('\n'), /tick from/);
    }
  }
  // Nothing stays in an agent's outbox once the hub has acknowledged it.
  await waitFor('outboxes drained', async () => {
    const states = await Promise.all(['a', 'b'].map(async (n) => JSON.parse(await readFile(join(ctx.dir, n, 'jobs', 'state.json'), 'utf8')) as { outbox: unknown[] }));
    return states.every((s) => s.outbox.length <= 2) ? true : undefined;
  }, 20_000, 500);
  const listed = await ctx.hub.cli(['get', 'cronjobs']);
  t.regex(listed.stdout, /every2\s+\*\/2 \* \* \* \* \*\s+UTC\s+exit 0/);
  const logs = await ctx.hub.cli(['logs', 'cronjob/every2', '--device', a.id, '--tail', '0']);
  t.is(logs.code, 0, logs.stderr);
  t.regex(logs.stdout, new RegExp(`--- ${a.id} .*completed, exit 0 ---\ntick from`));
  t.notRegex(logs.stdout, new RegExp(b.id));
  t.is((await ctx.hub.cli(['delete', 'cronjob', 'every2'])).code, 0);
});

test.serial('must-show 2: an agent stopped across three slots catches up once with RunOnce, not at all with Skip', async (t) => {
  const a = agent('a');
  await applyYaml(ctx.hub, ctx.dir, 'missed.yaml', [cronYaml('catchup', 'a', '*/10 * * * * *', 'echo catchup', '  missedRuns: RunOnce\n'), cronYaml('skipper', 'a', '*/10 * * * * *', 'echo skipper', '  missedRuns: Skip\n')].join('---\n'));
  const seen = await waitFor('a first run of each', async () => {
    const [c, s] = await Promise.all([cronJob('catchup'), cronJob('skipper')]);
    const run = c.runs.find((r) => r.reason === 'completed');
    return run && s.runs.some((r) => r.reason === 'completed') ? run : undefined;
  }, 40_000, 300);
  // Stop right after a slot, restart 35 s after it: slots +10, +20, +30 are missed, and +30 is
  // 5 s old when the agent looks (more than the 3 s a tick may be late), so it is a catch-up.
  const slot = Date.parse(seen.scheduledAt ?? '0');
  const lastSlot = Math.max(slot, ...(await cronJob('catchup')).runs.map((r) => Date.parse(r.scheduledAt ?? '0')));
  await a.proc.kill('SIGTERM');
  await sleep(Math.max(0, lastSlot + 35_000 - Date.now()));
  await startAgent(a);
  const after = await waitFor('the missed slots are recorded', async () => {
    const [c, s] = await Promise.all([cronJob('catchup'), cronJob('skipper')]);
    const cm = c.runs.filter((r) => r.reason === 'skipped-missed');
    const sm = s.runs.filter((r) => r.reason === 'skipped-missed');
    const caught = c.runs.filter((r) => r.trigger === 'catch-up' && r.reason === 'completed');
    return cm.length > 0 && sm.length > 0 && caught.length > 0 ? { c, s } : undefined;
  }, 30_000, 300);
  await sleep(2000);
  const [c, s] = await Promise.all([cronJob('catchup'), cronJob('skipper')]);
  t.is(c.runs.filter((r) => r.trigger === 'catch-up').length, 1, 'exactly one catch-up run');
  t.is(c.runs.find((r) => r.trigger === 'catch-up')?.scheduledAt, new Date(lastSlot + 30_000).toISOString());
  t.regex(after.c.runs.find((r) => r.reason === 'skipped-missed')?.message ?? '', /2 slots missed.*catch-up/);
  t.is(s.runs.filter((r) => r.trigger === 'catch-up').length, 0, 'Skip: no catch-up');
  t.regex(s.runs.find((r) => r.reason === 'skipped-missed')?.message ?? '', /3 slots missed.*Skip/);
  for (const name of ['catchup', 'skipper']) await ctx.hub.cli(['delete', 'cronjob', name]);
});

test.serial('must-show 3: Forbid skips slots while a run outlasts the period; Replace stops the old run', async (t) => {
  await applyYaml(
    ctx.hub,
    ctx.dir,
    'concurrency.yaml',
    [cronYaml('forbid', 'b', '*/2 * * * * *', 'sleep 5', '  concurrencyPolicy: Forbid\n'), cronYaml('replace', 'c', '*/3 * * * * *', 'echo started; sleep 100', '  concurrencyPolicy: Replace\n')].join('---\n'),
  );
  const forbid = await waitFor('forbidden slots recorded and a run completed', async () => {
    const d = await cronJob('forbid');
    return d.runs.some((r) => r.reason === 'forbidden-by-concurrency') && d.runs.some((r) => r.reason === 'completed') ? d : undefined;
  }, 40_000, 500);
  t.regex(forbid.runs.find((r) => r.reason === 'forbidden-by-concurrency')?.message ?? '', /Forbid/);
  const completedSlots = new Set(forbid.runs.filter((r) => r.reason === 'completed').map((r) => r.scheduledAt));
  t.false(forbid.runs.some((r) => r.reason === 'forbidden-by-concurrency' && completedSlots.has(r.scheduledAt)), 'a forbidden slot did not run');
  const replace = await waitFor('a replaced run recorded', async () => {
    const d = await cronJob('replace');
    return d.runs.some((r) => r.reason === 'replaced') ? d : undefined;
  }, 40_000, 500);
  const replaced = replace.runs.find((r) => r.reason === 'replaced');
  t.truthy(replaced?.signal);
  t.regex(replaced?.output.join('\n') ?? '', /started/);
  for (const name of ['forbid', 'replace']) await ctx.hub.cli(['delete', 'cronjob', name]);
});

const jobYaml = (name: string, spec: string, command: string): string => `apiVersion: edgepilot.io/v1
kind: Job
metadata: { name: ${name} }
spec:
${spec}  template:
    runtime: process
    command: ["sh", "-c", ${JSON.stringify(command)}]
    volumes: [{ name: state, mountPath: /state }]
`;

test.serial('must-show 4: completions 3, parallelism 2, backoffLimit 2 survive two failures; FailJob stops at once; a deadline ends a hanging run', async (t) => {
  // The first two attempts fail (mkdir is atomic, so two parallel attempts cannot both take one), the rest succeed.
  const flaky = 'V=$EDGEPILOT_VOLUME_STATE; if mkdir $V/f1 2>/dev/null || mkdir $V/f2 2>/dev/null; then echo failing; exit 1; fi; echo done';
  await applyYaml(
    ctx.hub,
    ctx.dir,
    'batch.yaml',
    [
      jobYaml('batch', '  completions: 3\n  parallelism: 2\n  backoffLimit: 2\n  selector: { matchLabels: { node: a } }\n', flaky),
      jobYaml('fatal', '  backoffLimit: 5\n  exitCodePolicy: [{ action: FailJob, exitCodes: [42] }]\n  selector: { matchLabels: { node: a } }\n', 'echo fatal; exit 42'),
      jobYaml('hang', '  activeDeadlineSeconds: 3\n  selector: { matchLabels: { node: b } }\n', 'echo hanging; sleep 100'),
    ].join('---\n'),
  );
  const batch = await waitFor('batch complete', async () => {
    const j = await jobDetail('batch');
    return j.status.state === 'Complete' || j.status.state === 'Failed' ? j : undefined;
  }, 60_000, 500);
  t.is(batch.status.state, 'Complete');
  t.is(batch.status.completions, '3/3');
  t.is(batch.runs.filter((r) => r.reason === 'failed').length, 2);
  t.is(batch.runs.filter((r) => r.reason === 'completed').length, 3);
  t.true(batch.runs.filter((r) => r.reason === 'failed').every((r) => r.exitCode === 1 && r.output.includes('failing')));

  const fatal = await waitFor('fatal failed', async () => {
    const j = await jobDetail('fatal');
    return j.status.state === 'Failed' ? j : undefined;
  }, 30_000, 500);
  t.is(fatal.runs.length, 1, 'no retry after a FailJob exit code');
  t.is(fatal.runs[0]?.exitCode, 42);
  t.regex(fatal.runs[0]?.message ?? '', /FailJob/);

  const hang = await waitFor('hang ended by its deadline', async () => {
    const j = await jobDetail('hang');
    return j.status.state === 'Failed' ? j : undefined;
  }, 30_000, 500);
  t.is(hang.runs.length, 1);
  t.is(hang.runs[0]?.reason, 'deadline');
  t.truthy(hang.runs[0]?.signal);
  const listed = await ctx.hub.cli(['get', 'jobs']);
  t.regex(listed.stdout, /batch\s+scheduled\s+3\/3\s+Complete/);
  await waitFor('events say how the Jobs ended', async () => {
    const [b, f] = await Promise.all([jobDetail('batch'), jobDetail('fatal')]);
    return b.events.some((e) => e.reason === 'Completed') && f.events.some((e) => e.reason === 'Failed') ? true : undefined;
  }, 15_000, 300);
  const described = await ctx.hub.cli(['describe', 'job', 'fatal']);
  t.regex(described.stdout, /Warning\s+Failed\s+completions 0\/1; failed on/);
});

test.serial('must-show 5: placement everyDevice over three agents, one stopped: two complete at once, the third when it returns, 3/3', async (t) => {
  const c = agent('c');
  await c.proc.kill('SIGTERM');
  await waitFor('c offline', async () => ((await ctx.hub.devices()).find((d) => d.id === c.id)?.state === 'offline' ? true : undefined), 30_000, 300);
  await applyYaml(ctx.hub, ctx.dir, 'everywhere.yaml', jobYaml('everywhere', '  placement: everyDevice\n  selector: { matchLabels: { fleet: jobs } }\n', 'echo hello from everywhere'));
  const two = await waitFor('two devices complete', async () => {
    const j = await jobDetail('everywhere');
    return j.status.devices.filter((d) => d.state === 'Complete').length === 2 ? j : undefined;
  }, 30_000, 500);
  t.is(two.status.completions, '2/3');
  t.is(two.status.devices.find((d) => d.device === c.id)?.state, 'Pending');
  await startAgent(c);
  const all = await waitFor('all three complete', async () => {
    const j = await jobDetail('everywhere');
    return j.status.state === 'Complete' ? j : undefined;
  }, 30_000, 500);
  t.is(all.status.completions, '3/3');
  t.true(all.runs.some((r) => r.device === c.id && r.reason === 'completed' && r.output.includes('hello from everywhere')));
});

test.serial('ACTIVE: the hub hears of a run when it starts; get cronjobs counts it and describe lists it until it ends', async (t) => {
  // The run outlasts the two CLI calls below even on a loaded machine (each may take seconds to
  // start); Forbid skips the slot that falls inside it.
  await applyYaml(ctx.hub, ctx.dir, 'long.yaml', cronYaml('long', 'b', '*/10 * * * * *', 'echo working; sleep 15', '  concurrencyPolicy: Forbid\n'));
  const b = agent('b');
  const running = await waitFor('a run active at the hub', async () => {
    const d = await cronJob('long');
    return (d.status.active ?? []).length === 1 ? d : undefined;
  }, 30_000, 200);
  t.is(running.status.active?.[0]?.device, b.id);
  const slot = running.status.active?.[0]?.scheduledAt;
  const listed = await ctx.hub.cli(['get', 'cronjobs']);
  t.regex(listed.stdout, /ACTIVE/);
  t.regex(listed.stdout, new RegExp(`long\\s+.*\\s1 \\(${b.id}\\)\\s+1\\s+false`));
  const described = await ctx.hub.cli(['describe', 'cronjob', 'long']);
  t.regex(described.stdout, new RegExp(`Active:\\s+${b.id}: slot ${slot ?? ''}, started \\d+s ago`));
  t.regex(described.stdout, /running/);
  const ended = await waitFor('the run ended', async () => {
    const d = await cronJob('long');
    return d.runs.some((r) => r.scheduledAt === slot && r.reason === 'completed') ? d : undefined;
  }, 30_000, 300);
  t.false(ended.runs.some((r) => r.scheduledAt === slot && r.reason === 'running'), 'the start notice is replaced by the end record');
  t.false((ended.status.active ?? []).some((r) => r.scheduledAt === slot));
  await ctx.hub.cli(['delete', 'cronjob', 'long']);
});

test.serial('suspend keeps device-side progress: a suspended running Job resumes where it was, on the device and at the hub', async (t) => {
  const a = agent('a');
  const spec = (suspend: boolean): string => `  completions: 3\n  parallelism: 1\n  backoffLimit: 2\n  suspend: ${suspend}\n  selector: { matchLabels: { node: a } }\n`;
  // The first attempt fails (counted), every later one takes 5 s and succeeds.
  const work = 'V=$EDGEPILOT_VOLUME_STATE; if mkdir $V/failed-once 2>/dev/null; then exit 1; fi; sleep 5; echo piece done';
  await applyYaml(ctx.hub, ctx.dir, 'pieces.yaml', jobYaml('pieces', spec(false), work));
  await waitFor('one completion done and the next running', async () => {
    const j = await jobDetail('pieces');
    return j.runs.filter((r) => r.reason === 'completed').length === 1 && j.runs.some((r) => r.reason === 'running') ? true : undefined;
  }, 60_000, 200);
  await applyYaml(ctx.hub, ctx.dir, 'pieces.yaml', jobYaml('pieces', spec(true), work));
  const suspended = await waitFor('the running attempt stopped as suspended', async () => {
    const j = await jobDetail('pieces');
    return j.runs.some((r) => r.reason === 'suspended') ? j : undefined;
  }, 30_000, 200);
  t.is(suspended.status.state, 'Suspended');
  // On a loaded machine the suspend may land after the second completion: count what was done.
  const doneBefore = suspended.runs.filter((r) => r.reason === 'completed').length;
  t.true(doneBefore >= 1 && doneBefore < 3);
  t.is(suspended.status.completions, `${doneBefore}/3`, 'the hub keeps the completions made before the suspend');
  await sleep(3000);
  t.is((await jobDetail('pieces')).runs.filter((r) => r.reason === 'completed').length, doneBefore, 'nothing runs while suspended');
  await applyYaml(ctx.hub, ctx.dir, 'pieces.yaml', jobYaml('pieces', spec(false), work));
  const done = await waitFor('complete after resume', async () => {
    const j = await jobDetail('pieces');
    return j.status.state === 'Complete' ? j : undefined;
  }, 60_000, 300);
  const completed = done.runs.filter((r) => r.reason === 'completed');
  t.is(completed.length, 3, 'the device did not run the done completion again');
  t.deepEqual([...new Set(completed.map((r) => r.completionIndex))].sort(), [0, 1, 2]);
  t.is(done.runs.filter((r) => r.reason === 'failed').length, 1, 'the failure before the suspend is still counted, not repeated');
  const stopped = done.runs.find((r) => r.reason === 'suspended');
  const rerun = completed.find((r) => r.completionIndex === stopped?.completionIndex);
  t.true((rerun?.attempt ?? 0) > (stopped?.attempt ?? 0), 'the resumed attempt is numbered after the stopped one (its record is not taken for a duplicate)');
  t.is(done.status.devices.find((d) => d.device === a.id)?.failed, 1);
  t.false(done.runs.some((r) => r.reason === 'running'));
});

test.serial('a CronJob changed at the hub: a device that never heard of it keeps the old schedule; at its next contact it reschedules; deleted, it stops', async (t) => {
  const c = agent('c');
  await applyYaml(ctx.hub, ctx.dir, 'moving.yaml', cronYaml('moving', 'c', '*/2 * * * * *', 'echo version one'));
  await waitFor('a first run of the old version', async () => ((await cronJob('moving')).runs.some((r) => r.device === c.id && r.output.includes('version one')) ? true : undefined), 30_000, 300);
  await c.proc.kill('SIGTERM');
  await applyYaml(ctx.hub, ctx.dir, 'moving.yaml', cronYaml('moving', 'c', '*/3 * * * * *', 'echo version two'));
  const changedAt = Date.now();
  // The device comes back while the hub is away: it never hears of the change.
  await ctx.hub.proc.kill('SIGTERM');
  await startAgent(c);
  await sleep(6000);
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: ctx.dataDir, adminToken: ctx.hub.adminToken, ...ctx.ports });
  ctx.procs.push(ctx.hub.proc);
  const detail = await waitFor('runs of both versions', async () => {
    const d = await cronJob('moving');
    const mine = d.runs.filter((r) => r.device === c.id && r.reason === 'completed');
    return mine.some((r) => r.output.includes('version one') && Date.parse(r.startedAt ?? '0') > changedAt) && mine.some((r) => r.output.includes('version two')) ? mine : undefined;
  }, 40_000, 500);
  const offline = detail.filter((r) => r.output.includes('version one') && Date.parse(r.startedAt ?? '0') > changedAt);
  t.true(offline.length >= 2, `${offline.length} runs of the last known schedule while the hub was away`);
  for (const r of offline) t.is(Date.parse(r.scheduledAt ?? '') % 2000, 0);
  const rescheduled = detail.filter((r) => r.output.includes('version two'));
  for (const r of rescheduled) t.is(Date.parse(r.scheduledAt ?? '') % 3000, 0, 'the new schedule');
  t.true(Math.min(...rescheduled.map((r) => Date.parse(r.startedAt ?? ''))) > Math.max(...offline.map((r) => Date.parse(r.startedAt ?? ''))), 'the old schedule stopped once the change arrived');
  t.is((await ctx.hub.cli(['delete', 'cronjob', 'moving'])).code, 0);
  await c.proc.waitForOutput(/cronjob moving removed: no further slots/, 20_000);
  t.pass();
});

test.serial('a Job attempt that lists a service gets its <NAME>_SERVICE_HOST and _PORT like an instance, applied together with the Service', async (t) => {
  // Nothing on the device used the service before: its services document comes after the desired
  // document with the Job, and the attempt's start waits for it.
  await applyYaml(ctx.hub, ctx.dir, 'ask.yaml', `apiVersion: edgepilot.io/v1
kind: Service
metadata: { name: lookup }
spec:
  selector: { matchLabels: { app: lookup } }
  ports: [{ port: 18099, targetPort: 8080, name: http-api }]
---
apiVersion: edgepilot.io/v1
kind: Job
metadata: { name: ask }
spec:
  selector: { matchLabels: { node: a } }
  template:
    runtime: process
    command: ["sh", "-c", "echo at=$LOOKUP_SERVICE_HOST:$LOOKUP_SERVICE_PORT named=$LOOKUP_SERVICE_PORT_HTTP_API"]
    services: [lookup]
`);
  const ask = await waitFor('ask complete', async () => {
    const j = await jobDetail('ask');
    return j.status.state === 'Complete' || j.status.state === 'Failed' ? j : undefined;
  }, 30_000, 300);
  t.is(ask.status.state, 'Complete');
  t.deepEqual(ask.runs[0]?.output, ['at=127.0.0.1:18099 named=18099']);
});
