// The nemesis run: a hub and agents (cluster.ts), random writes (operations.ts) and random faults
// (faults.ts) at once for a bounded time; then heal, wait for convergence, sample, restart the hub
// on its store, and judge the whole history (history.ts). Used by test/nemesis and bench/nemesis.
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { prng } from '../prng.js';
import { NemesisCluster, type NemesisBroker } from './cluster.js';
import { faultKinds, healAll, injectFault, type FaultKind } from './faults.js';
import { checkHistory, observedState, rolloutSettled, type ObservedRollout, type ObservedState, type Operation, type Sample, type Violation } from './history.js';
import { DEVICE_RELEASE, ROLLOUT_LABEL, cliCapable, nextIntent, perform, performViaCli, type ApiTarget } from './operations.js';

export interface NemesisOptions {
  seed: number;
  durationMs: number;
  agents: number;
  /** The hub's broker (default: embedded); `mosquitto` adds the broker-restart fault. */
  broker?: NemesisBroker;
  log: (line: string) => void;
}

export interface NemesisResult {
  seed: number;
  runId: string;
  history: Operation[];
  faults: Partial<Record<FaultKind, number>>;
  violations: Violation[];
  convergeMs: number | undefined;
  baselineMs: number | undefined;
  table: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The seed: `EDGEPILOT_NEMESIS_SEED` replays a run; otherwise a fresh one (printed either way). */
export function nemesisSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env['EDGEPILOT_NEMESIS_SEED'];
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`EDGEPILOT_NEMESIS_SEED: "${given}" is not an integer`);
    return seed;
  }
  return randomBytes(4).readUInt32BE(0);
}

async function getJson(target: ApiTarget, path: string): Promise<unknown> {
  const response = await fetch(`${target.apiUrl}${path}`, { headers: { authorization: `Bearer ${target.adminToken}` }, signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${path}: ${response.status}`);
  return response.json();
}

interface HubState {
  observed: ObservedState;
  online: Map<string, boolean>;
  rollouts: ObservedRollout[];
  /** Each device's pinned release version (devices without a pin are absent). */
  pins: Map<string, string>;
}

async function readHubState(target: ApiTarget): Promise<HubState> {
  type Items<T> = { items: T[] };
  const workloads = (await getJson(target, '/v1/workloads')) as Items<{ name: string; spec: { replicas: number | string; template: { env?: Record<string, string> } } }>;
  const cronJobs = (await getJson(target, '/v1/cronjobs')) as Items<{ name: string; spec: { schedule: string } }>;
  const devices = (await getJson(target, '/v1/devices')) as Items<{ id: string; labels: Record<string, string>; unschedulable: boolean; state: string }>;
  const tokens = (await getJson(target, '/v1/tokens')) as Items<{ id: string; revoked: boolean }>;
  const firmware = (await getJson(target, '/v1/firmware')) as Items<{ target: string; version: string; sha256: string }>;
  const releases = (await getJson(target, '/v1/releases')) as Items<{ name: string; version: string }>;
  const rollouts = (await getJson(target, '/v1/rollouts')) as Items<{ name: string; release: { name: string; version: string }; phase: string; pause: { reason: string } | null }>;
  const pins = new Map<string, string>();
  for (const d of devices.items) {
    const pinned = (await getJson(target, `/v1/devices/${d.id}/release`)) as { release: { version: string } | null };
    if (pinned.release) pins.set(d.id, pinned.release.version);
  }
  return {
    observed: observedState({
      workloads: workloads.items.map((w) => ({ name: w.name, replicas: Number(w.spec.replicas), marker: w.spec.template.env?.['NEMESIS_MARK'] ?? '' })),
      cronJobs: cronJobs.items.map((c) => ({ name: c.name, schedule: c.spec.schedule })),
      devices: devices.items.map((d) => ({ id: d.id, labels: d.labels, cordoned: d.unschedulable })),
      validTokens: tokens.items.filter((t) => !t.revoked).map((t) => t.id),
      firmware: firmware.items,
      releases: releases.items,
      rollouts: rollouts.items,
    }),
    online: new Map(devices.items.map((d) => [d.id, d.state === 'online'])),
    rollouts: rollouts.items.map((r) => ({ name: r.name, phase: r.phase, ...(r.pause ? { pauseReason: r.pause.reason } : {}) })),
    pins,
  };
}

/** The devices match the hub's state: every workload at its count with its newest marker, no stray or doubled instance. */
function matches(state: HubState, processes: Sample['processes']): boolean {
  if ([...state.online.values()].some((online) => !online)) return false;
  const wanted = new Map<string, { replicas: number; marker: string }>();
  for (const [key, value] of state.observed) {
    const m = key.startsWith('workload/') ? /^replicas=(\d+),marker=(.*)$/.exec(value) : null;
    if (m) wanted.set(key.slice('workload/'.length), { replicas: Number(m[1]), marker: m[2] ?? '' });
  }
  if (new Set(processes.map((p) => p.instance)).size !== processes.length) return false;
  // A pinned device runs its release's template (every nemesis workload has one in it); the others the workload's newest.
  if (processes.some((p) => state.pins.get(p.device) !== p.release)) return false;
  if (processes.some((p) => p.release === undefined && wanted.get(p.workload)?.marker !== p.marker)) return false;
  return [...wanted].every(([name, w]) => processes.filter((p) => p.workload === name).length === w.replicas);
}

/** Waits until the devices match the hub's state on two reads in a row (a glimpse mid-change is not convergence). */
async function waitForConvergence(cluster: NemesisCluster, target: () => ApiTarget, timeoutMs: number): Promise<boolean> {
  let streak = 0;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && streak < 2) {
    await sleep(500);
    const state = await readHubState(target()).catch(() => undefined);
    streak = state && matches(state, await cluster.runningProcesses()) ? streak + 1 : 0;
  }
  return streak >= 2;
}

/** Waits until no rollout is still moving (progressing or scheduled, or paused without a reason). */
async function waitForRollouts(target: () => ApiTarget, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const state = await readHubState(target()).catch(() => undefined);
    if (state?.rollouts.every(rolloutSettled)) return true;
    await sleep(1000);
  }
  return false;
}

export async function runNemesis(options: NemesisOptions): Promise<NemesisResult> {
  const { seed, log } = options;
  // One stream per actor, so a replayed seed gives the same writes and the same faults in the same
  // order (their interleaving still follows the machine's timing).
  const random = prng(seed);
  const writeRandom = prng(seed ^ 0x5bd1e995);
  const runId = randomBytes(2).toString('hex');
  log(`nemesis: seed ${seed} (replay with EDGEPILOT_NEMESIS_SEED=${seed}), run ${runId}, ${options.agents} agents, ${(options.durationMs / 60_000).toFixed(1)} min of faults`);
  const broker = options.broker ?? 'embedded';
  const cluster = new NemesisCluster(runId, await mkdtemp(join(tmpdir(), `ep-nemesis-${runId}-`)), prng(seed ^ 0x27d4eb2f), broker);
  const history: Operation[] = [];
  const kinds = faultKinds(broker);
  const faults: Partial<Record<FaultKind, number>> = Object.fromEntries(kinds.map((k) => [k, 0]));
  const started = Date.now();
  const since = (): number => Date.now() - started;
  const violations: Violation[] = [];
  let convergeMs: number | undefined;
  let baselineMs: number | undefined;
  let rolloutsAtEnd = '—';
  try {
    await cluster.start(options.agents);
    const target = (): ApiTarget => ({ apiUrl: cluster.hub.apiUrl, adminToken: cluster.hub.adminToken });
    const deviceIds = cluster.agents.map((a) => a.deviceId);
    // The device rollouts' target: all agents but the last (which keeps running the workloads' own templates).
    for (const id of deviceIds.slice(0, Math.max(1, deviceIds.length - 1))) {
      const labelled = await fetch(`${target().apiUrl}/v1/devices/${id}/labels`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${target().adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ set: { [ROLLOUT_LABEL.key]: ROLLOUT_LABEL.value } }),
      });
      if (!labelled.ok) throw new Error(`labelling the rollout target ${id}: ${labelled.status}`);
    }
    let seq = 0;
    const tokens: string[] = [];
    const releases: { name: string; version: string }[] = [];

    // Baseline, before any fault: one apply of 3 replicas until the devices run them.
    const baselineStart = Date.now();
    seq += 1;
    const first = await perform(target(), runId, seq, since(), { kind: 'apply-workload', name: 'nw-0', replicas: 3, marker: String(seq) });
    if (first) history.push(first);
    if (await waitForConvergence(cluster, target, 60_000)) baselineMs = Date.now() - baselineStart;
    log(`  baseline: one apply of 3 replicas converged in ${baselineMs === undefined ? 'never' : `${(baselineMs / 1000).toFixed(1)} s`} without faults`);

    // One rollout onto the labelled devices at the start, so every run has release instances on devices
    // while the faults come (the generator adds more at random).
    for (const kind of ['apply-release', 'apply-rollout'] as const) {
      seq += 1;
      const version = releases.at(-1)?.version ?? `1.0.${seq}`;
      const op = await perform(target(), runId, seq, since(), kind === 'apply-release' ? { kind, name: DEVICE_RELEASE, version } : { kind, name: `nro-${seq}`, release: DEVICE_RELEASE, version });
      if (op) history.push(op);
      if (op?.intent.kind === 'apply-release' && op.outcome === 'acked') releases.push({ name: DEVICE_RELEASE, version });
    }

    const deadline = Date.now() + options.durationMs;

    const writes = (async () => {
      while (Date.now() < deadline) {
        seq += 1;
        const planned = nextIntent(writeRandom, seq, { devices: deviceIds, tokens, releases });
        // A quarter of what the CLI can say goes through it (a process per write, so not all).
        const op =
          planned.kind !== 'token-create-new' && cliCapable(planned) && (planned.kind === 'firmware-push' || writeRandom() < 0.25)
            ? await performViaCli((args) => cluster.hub.cli(args), cluster.root, runId, seq, since(), planned)
            : await perform(target(), runId, seq, since(), planned);
        if (op) history.push(op);
        if (op?.intent.kind === 'token-create' && op.outcome === 'acked') tokens.push(op.intent.tokenId);
        if (op?.intent.kind === 'apply-release' && op.outcome === 'acked') releases.push({ name: op.intent.name, version: op.intent.version });
        await sleep(50 + writeRandom() * 400);
      }
    })();
    const nemesis = (async () => {
      while (Date.now() < deadline) {
        const kind = kinds[Math.floor(random() * kinds.length)] as FaultKind;
        faults[kind] = (faults[kind] ?? 0) + 1;
        log(`  ${(since() / 1000).toFixed(1)} s  ${await injectFault(kind, cluster, random)}`);
        await sleep(500 + random() * 3000);
      }
    })();
    await Promise.all([writes, nemesis]);
    await healAll(cluster);
    const healedAt = Date.now();
    log(`  ${(since() / 1000).toFixed(1)} s  all faults healed; uncordoning every device and waiting for convergence`);
    for (const device of deviceIds) {
      seq += 1;
      const op = await perform(target(), runId, seq, since(), { kind: 'cordon', device, cordoned: false });
      if (op) history.push(op);
    }

    // Rollouts first: one acknowledged late still soaks and is judged; its pins change what converges.
    const settled = await waitForRollouts(target, 120_000);
    log(`  ${(since() / 1000).toFixed(1)} s  rollouts ${settled ? 'at rest' : 'still moving after 120 s (judged as they are)'}`);
    if (await waitForConvergence(cluster, target, 150_000)) convergeMs = Date.now() - healedAt;
    else {
      // What each agent last took as its goal, to tell a lost document from a stuck apply.
      for (const a of cluster.agents) {
        const lines = (a.pastOutput + a.proc.output).split('\n').filter((l) => /desired generation|ignored desired/.test(l));
        log(`  not converged: agent ${a.index} (${a.deviceId}) last desired documents:\n    ${lines.slice(-5).join('\n    ')}`);
      }
    }
    const samples: Sample[] = [];
    for (let i = 0; i < 5; i++) {
      samples.push({ at: since(), processes: await cluster.runningProcesses() });
      await sleep(1000);
    }
    const state = await readHubState(target());
    const onlineAtEnd = state.online;
    const phases = new Map<string, number>();
    for (const r of state.rollouts) phases.set(r.phase, (phases.get(r.phase) ?? 0) + 1);
    rolloutsAtEnd = `${[...phases].map(([p, n]) => `${p} ${n}`).join(', ') || 'none'}; devices pinned ${state.pins.size}, release processes running ${samples.at(-1)?.processes.filter((p) => p.release !== undefined).length ?? 0}`;

    // The store loads: a hub SIGKILLed now and started on the same folder serves the same state.
    let store: { loaded: true } | { loaded: false; error: string } = { loaded: true };
    await cluster.killHub();
    try {
      await cluster.restartHub();
      const again = await readHubState(target());
      const a = JSON.stringify([...state.observed].sort());
      const b = JSON.stringify([...again.observed].sort());
      if (a !== b) store = { loaded: false, error: `the restarted hub serves another state: before ${a}, after ${b}` };
    } catch (err) {
      store = { loaded: false, error: `the hub did not start on its store: ${(err as Error).message.slice(0, 2000)}` };
    }

    violations.push(
      ...checkHistory({
        history,
        observed: state.observed,
        ...(convergeMs !== undefined ? { convergedAt: since() } : {}),
        samples,
        devices: cluster.agents.map((a) => ({
          id: a.deviceId,
          online: onlineAtEnd.get(a.deviceId) ?? false,
          credentialsRefused: /no longer accepts this device's credentials/.test(a.pastOutput + a.proc.output),
        })),
        store,
        rollouts: state.rollouts,
        pins: state.pins,
      }),
    );
  } catch (err) {
    violations.push({ kind: 'run-aborted', detail: `the run stopped: ${(err as Error).stack ?? String(err)}` });
    for (const a of cluster.agents) log(`--- agent ${a.index} output (tail) ---\n${(a.pastOutput + (a.proc?.output ?? '')).slice(-3000)}`);
    log(`--- hub output (tail) ---\n${cluster.hub?.proc.output.slice(-5000) ?? ''}`);
  } finally {
    const proxyCounts = cluster.agents.reduce((sum, a) => ({ duplicated: sum.duplicated + a.mqttProxy.counters.duplicated, reordered: sum.reordered + a.mqttProxy.counters.reordered }), { duplicated: 0, reordered: 0 });
    log(`  PUBLISH packets duplicated ${proxyCounts.duplicated}, reordered ${proxyCounts.reordered}`);
    if (violations.length > 0) log(`  the hub's and agents' whole output is kept in ${await keepOutputs(cluster, runId, history)}`);
    await cluster.destroy();
  }
  const table = nemesisTable({ seed, runId, history, faults, violations, convergeMs, baselineMs, durationMs: options.durationMs, agents: options.agents, broker, rolloutsAtEnd });
  log(table);
  return { seed, runId, history, faults, violations, convergeMs, baselineMs, table };
}

/** A failed run's evidence outlives its temp folder: every process's output and the history. */
async function keepOutputs(cluster: NemesisCluster, runId: string, history: readonly Operation[]): Promise<string> {
  const folder = join(tmpdir(), `ep-nemesis-${runId}-logs`);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'hub.log'), `${cluster.pastHubOutput}${cluster.hub?.proc.output ?? ''}`);
  for (const a of cluster.agents) await writeFile(join(folder, `agent-${a.index}-${a.deviceId}.log`), a.pastOutput + (a.proc?.output ?? ''));
  await writeFile(join(folder, 'history.json'), JSON.stringify(history, null, 1));
  return folder;
}

export function nemesisTable(r: { seed: number; runId: string; history: readonly Operation[]; faults: Partial<Record<FaultKind, number>>; violations: readonly Violation[]; convergeMs: number | undefined; baselineMs: number | undefined; durationMs: number; agents: number; broker?: NemesisBroker; rolloutsAtEnd?: string }): string {
  const count = (pred: (op: Operation) => boolean): number => r.history.filter(pred).length;
  const byKind = new Map<string, number>();
  for (const op of r.history) if (op.outcome === 'acked') byKind.set(op.intent.kind, (byKind.get(op.intent.kind) ?? 0) + 1);
  const rows: [string, string][] = [
    ['seed', String(r.seed)],
    ['faults for', `${(r.durationMs / 60_000).toFixed(1)} min, ${r.agents} agents, ${r.broker === 'mosquitto' ? 'Mosquitto (--broker, dynamic security)' : 'embedded broker'}`],
    ['operations acknowledged', `${count((op) => op.outcome === 'acked')} (${[...byKind].map(([k, n]) => `${k} ${n}`).join(', ')})`],
    ['operations refused / unknown / no answer', `${count((op) => op.outcome === 'refused')} / ${count((op) => op.outcome === 'unknown')} / ${count((op) => op.outcome === 'no-answer')}`],
    ['sent through the CLI (acknowledged)', `${count((op) => op.via === 'cli')} (${count((op) => op.via === 'cli' && op.outcome === 'acked')})`],
    ['faults injected', Object.entries(r.faults).map(([k, n]) => `${k} ${n}`).join(', ')],
    ['rollouts at the end', r.rolloutsAtEnd ?? '—'],
    ['violations', String(r.violations.length)],
    ['converged after the last fault', r.convergeMs === undefined ? 'never (see violations)' : `${(r.convergeMs / 1000).toFixed(1)} s`],
    ['baseline: one apply converged, no faults', r.baselineMs === undefined ? 'never' : `${(r.baselineMs / 1000).toFixed(1)} s`],
    ['ratio (after faults / baseline)', r.convergeMs !== undefined && r.baselineMs ? (r.convergeMs / r.baselineMs).toFixed(1) : '—'],
  ];
  const lines = ['| what | result |', '|---|---|', ...rows.map(([a, b]) => `| ${a} | ${b} |`)];
  for (const v of r.violations) lines.push(`violation ${v.kind}: ${v.detail}`);
  return lines.join('\n');
}
