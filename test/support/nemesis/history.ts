// The nemesis harness's model of what the hub promised (a history of operations, each with the
// API's answer) and a checker that compares it with what was found after the faults healed.
// Pure: no I/O, no clock. The harness feeds it; test/unit/nemesis/checker.test.ts feeds it
// hand-made histories with every violation kind, so the checker itself can fail.

/** What one write asked for. `marker` is the workload's generation tag (an env value in its template). */
export type Intent =
  | { kind: 'apply-workload'; name: string; replicas: number; marker: string }
  | { kind: 'delete-workload'; name: string }
  | { kind: 'apply-cronjob'; name: string; schedule: string }
  | { kind: 'delete-cronjob'; name: string }
  | { kind: 'label'; device: string; key: string; value: string | null }
  | { kind: 'cordon'; device: string; cordoned: boolean }
  | { kind: 'token-create'; tokenId: string }
  | { kind: 'token-revoke'; tokenId: string }
  /** Releases are immutable and never deleted; a rollout is a new record per name. */
  | { kind: 'apply-release'; name: string; version: string }
  | { kind: 'apply-rollout'; name: string; release: string; version: string }
  /** Images are never deleted: one pushed is there for good, under its target and version. */
  | { kind: 'firmware-push'; target: string; version: string; sha256: string };

/**
 * How the API answered: `acked` (2xx: the hub promised the change is durable), `refused` (4xx or
 * connection refused: nothing changed), `unknown` (5xx: it may or may not have happened, but it was
 * over when the hub answered), `no-answer` (timeout, connection lost: it may still take effect at
 * any later moment, even after later writes were acknowledged).
 */
export type Outcome = 'acked' | 'refused' | 'unknown' | 'no-answer';

export interface Operation {
  seq: number;
  /** Milliseconds since the run started (for the table and for reading a failure). */
  at: number;
  intent: Intent;
  outcome: Outcome;
  /** How it was sent: the HTTP API (default) or the `edgepilot` CLI. */
  via?: 'api' | 'cli';
}

/** A value of one key of the hub's state; `undefined` means absent. */
type Value = string | undefined;

/** Every piece of state the history speaks about, keyed, with its value after an intent. */
function effect(intent: Intent): { key: string; value: Value } {
  switch (intent.kind) {
    case 'apply-workload':
      return { key: `workload/${intent.name}`, value: `replicas=${intent.replicas},marker=${intent.marker}` };
    case 'delete-workload':
      return { key: `workload/${intent.name}`, value: undefined };
    case 'apply-cronjob':
      return { key: `cronjob/${intent.name}`, value: `schedule=${intent.schedule}` };
    case 'delete-cronjob':
      return { key: `cronjob/${intent.name}`, value: undefined };
    case 'label':
      return { key: `label/${intent.device}/${intent.key}`, value: intent.value ?? undefined };
    case 'cordon':
      return { key: `cordon/${intent.device}`, value: intent.cordoned ? 'cordoned' : undefined };
    case 'token-create':
      return { key: `token/${intent.tokenId}`, value: 'valid' };
    case 'token-revoke':
      return { key: `token/${intent.tokenId}`, value: undefined };
    case 'apply-release':
      return { key: `release/${intent.name}@${intent.version}`, value: 'stored' };
    case 'apply-rollout':
      return { key: `rollout/${intent.name}`, value: `${intent.release}@${intent.version}` };
    case 'firmware-push':
      return { key: `firmware/${intent.target}@${intent.version}`, value: intent.sha256 };
  }
}

/** The hub's state as read after healing, in the same keys (see `observedState`). */
export type ObservedState = ReadonlyMap<string, string>;

export function observedState(found: {
  workloads: readonly { name: string; replicas: number; marker: string }[];
  cronJobs: readonly { name: string; schedule: string }[];
  devices: readonly { id: string; labels: Readonly<Record<string, string>>; cordoned: boolean }[];
  /** Tokens that are still usable (not revoked). */
  validTokens: readonly string[];
  firmware?: readonly { target: string; version: string; sha256: string }[];
  releases?: readonly { name: string; version: string }[];
  rollouts?: readonly { name: string; release: { name: string; version: string } }[];
}): ObservedState {
  const state = new Map<string, string>();
  for (const w of found.workloads) state.set(`workload/${w.name}`, `replicas=${w.replicas},marker=${w.marker}`);
  for (const c of found.cronJobs) state.set(`cronjob/${c.name}`, `schedule=${c.schedule}`);
  for (const d of found.devices) {
    for (const [k, v] of Object.entries(d.labels)) state.set(`label/${d.id}/${k}`, v);
    if (d.cordoned) state.set(`cordon/${d.id}`, 'cordoned');
  }
  for (const t of found.validTokens) state.set(`token/${t}`, 'valid');
  for (const r of found.releases ?? []) state.set(`release/${r.name}@${r.version}`, 'stored');
  for (const r of found.rollouts ?? []) state.set(`rollout/${r.name}`, `${r.release.name}@${r.release.version}`);
  for (const f of found.firmware ?? []) state.set(`firmware/${f.target}@${f.version}`, f.sha256);
  return state;
}

/**
 * One sampled instant of the devices after convergence: every workload process found running.
 * `release`: the release version whose template it runs (a rollout pinned its device), absent
 * for the workload's own template.
 */
export interface Sample {
  at: number;
  processes: readonly { device: string; workload: string; instance: string; marker: string; release?: string }[];
}

/** A rollout as read after healing: its phase, and for a paused one why (the pause's reason). */
export interface ObservedRollout {
  name: string;
  phase: string;
  pauseReason?: string;
}

/** Where a rollout may rest: done, undone, stopped, or paused with a reason an operator can act on. */
export function rolloutSettled(r: ObservedRollout): boolean {
  return r.phase === 'completed' || r.phase === 'rolled-back' || r.phase === 'aborted' || (r.phase === 'paused' && (r.pauseReason ?? '').trim() !== '');
}

export type ViolationKind =
  | 'lost-change'
  | 'resurrected-delete'
  | 'not-converged'
  | 'replica-count'
  | 'duplicate-instance'
  | 'stale-instance'
  | 'lost-credentials'
  | 'store-unloadable'
  /** An acknowledged rollout neither finished, rolled back, aborted nor paused with a reason. */
  | 'stuck-rollout'
  /** A device runs (or is pinned to) a release no rollout the API may have accepted put there. */
  | 'release-without-rollout'
  /** Not from the checker: the harness itself could not go on (e.g. a hub that would not start). */
  | 'run-aborted';

export interface Violation {
  kind: ViolationKind;
  detail: string;
}

export interface CheckInput {
  history: readonly Operation[];
  /** State read from the hub after healing, and again from a hub restarted on the same store. */
  observed: ObservedState;
  /** Absent when the harness never saw every workload at its count before its deadline. */
  convergedAt?: number;
  samples: readonly Sample[];
  devices: readonly { id: string; online: boolean; credentialsRefused: boolean }[];
  store: { loaded: true } | { loaded: false; error: string };
  /** Rollouts read after they had time to settle (absent: not judged). */
  rollouts?: readonly ObservedRollout[];
  /** Each device's pinned release version (absent from the map: none), read at the end. */
  pins?: ReadonlyMap<string, string>;
}

/**
 * Values a key may hold at the end: the value of the last acknowledged write, of any write after it
 * whose answer was unknown (writes are issued one at a time, so "after" is the sequence order), or
 * of any write that got no answer at all, whenever it was sent (it may have landed late).
 * Keys no acknowledged write touched are not judged; refused writes changed nothing.
 */
export function allowedValues(history: readonly Operation[]): Map<string, { acked: Operation; allowed: Value[] }> {
  const byKey = new Map<string, { acked: Operation; allowed: Value[] }>();
  const late = new Map<string, Value[]>();
  for (const op of [...history].sort((a, b) => a.seq - b.seq)) {
    const { key, value } = effect(op.intent);
    if (op.outcome === 'acked') {
      byKey.set(key, { acked: op, allowed: [value] });
    } else if (op.outcome === 'unknown') {
      // Before any acknowledged write the key is not judged (its start value is not in the history).
      byKey.get(key)?.allowed.push(value);
    } else if (op.outcome === 'no-answer') {
      late.set(key, [...(late.get(key) ?? []), value]);
    }
  }
  for (const [key, entry] of byKey) entry.allowed.push(...(late.get(key) ?? []));
  return byKey;
}

function describe(op: Operation): string {
  return `#${op.seq} ${JSON.stringify(op.intent)} at ${(op.at / 1000).toFixed(1)} s`;
}

/** Expected running processes per workload (from the observed state, which must be one of the allowed). */
function expectedWorkloads(observed: ObservedState): Map<string, { replicas: number; marker: string }> {
  const expected = new Map<string, { replicas: number; marker: string }>();
  for (const [key, value] of observed) {
    if (!key.startsWith('workload/')) continue;
    const match = /^replicas=(\d+),marker=(.*)$/.exec(value);
    if (match) expected.set(key.slice('workload/'.length), { replicas: Number(match[1]), marker: match[2] ?? '' });
  }
  return expected;
}

export function checkHistory(input: CheckInput): Violation[] {
  const violations: Violation[] = [];
  for (const [key, { acked, allowed }] of allowedValues(input.history)) {
    const found = input.observed.get(key);
    if (allowed.includes(found)) continue;
    const lastWasDelete = effect(acked.intent).value === undefined && allowed.every((v) => v === undefined);
    violations.push(
      lastWasDelete
        ? { kind: 'resurrected-delete', detail: `${key} is ${found ?? ''} after ${describe(acked)} was acknowledged` }
        : { kind: 'lost-change', detail: `${key} is ${found ?? 'absent'}; allowed ${allowed.map((v) => v ?? 'absent').join(' | ')} after ${describe(acked)}` },
    );
  }

  const expected = expectedWorkloads(input.observed);
  if (input.convergedAt === undefined) {
    violations.push({ kind: 'not-converged', detail: `workloads never reached ${[...expected].map(([n, e]) => `${n}=${e.replicas}`).join(', ') || 'nothing'} after healing` });
  }
  for (const sample of input.samples) {
    const at = `at ${(sample.at / 1000).toFixed(1)} s`;
    const seen = new Map<string, string[]>();
    for (const p of sample.processes) seen.set(p.instance, [...(seen.get(p.instance) ?? []), p.device]);
    for (const [instance, devices] of seen) {
      if (devices.length > 1) violations.push({ kind: 'duplicate-instance', detail: `${instance} runs ${devices.length} times (${devices.join(', ')}) ${at}` });
    }
    for (const [name, want] of expected) {
      const running = sample.processes.filter((p) => p.workload === name);
      if (running.length !== want.replicas) violations.push({ kind: 'replica-count', detail: `${name}: ${running.length} running, ${want.replicas} wanted ${at}` });
      // A process of a release runs the release's template, not the workload's newest one: judged below.
      const stale = running.filter((p) => p.release === undefined && p.marker !== want.marker);
      if (stale.length > 0) violations.push({ kind: 'stale-instance', detail: `${name}: ${stale.map((p) => `${p.instance}@${p.device} marker ${p.marker}`).join(', ')} (want ${want.marker}) ${at}` });
    }
    for (const p of sample.processes) {
      if (!expected.has(p.workload)) violations.push({ kind: 'stale-instance', detail: `${p.instance} of deleted workload ${p.workload} runs on ${p.device} ${at}` });
    }
  }

  violations.push(...checkRollouts(input));

  for (const d of input.devices) {
    if (d.credentialsRefused) violations.push({ kind: 'lost-credentials', detail: `${d.id}: the broker refused its credentials` });
    else if (!d.online) violations.push({ kind: 'lost-credentials', detail: `${d.id} is not online after healing` });
  }
  if (!input.store.loaded) violations.push({ kind: 'store-unloadable', detail: input.store.error });
  return violations;
}

/**
 * Rollouts on real devices: every acknowledged rollout came to rest (never stuck), and no device
 * runs or is pinned to a release that no rollout the API may have accepted named (a refused apply
 * changed nothing; an unknown or unanswered one may have landed). A release process must also run
 * the release its device is pinned to, not an older one left behind.
 */
function checkRollouts(input: CheckInput): Violation[] {
  const violations: Violation[] = [];
  const mayHaveLanded = new Set<string>();
  const acked = new Set<string>();
  for (const op of input.history) {
    if (op.intent.kind !== 'apply-rollout' || op.outcome === 'refused') continue;
    mayHaveLanded.add(op.intent.version);
    if (op.outcome === 'acked') acked.add(op.intent.name);
  }
  for (const r of input.rollouts ?? []) {
    if (acked.has(r.name) && !rolloutSettled(r)) {
      violations.push({ kind: 'stuck-rollout', detail: `rollout ${r.name} is ${r.phase}${r.phase === 'paused' ? ' without a reason' : ''} after the faults healed and it had time to settle` });
    }
  }
  for (const [device, version] of input.pins ?? []) {
    if (!mayHaveLanded.has(version)) violations.push({ kind: 'release-without-rollout', detail: `${device} is pinned to release ${version}, which no accepted rollout named` });
  }
  for (const sample of input.samples) {
    const at = `at ${(sample.at / 1000).toFixed(1)} s`;
    for (const p of sample.processes) {
      if (p.release === undefined) {
        const pinned = input.pins?.get(p.device);
        if (pinned !== undefined) violations.push({ kind: 'stale-instance', detail: `${p.instance}@${p.device} runs its workload's own template, but the device is pinned to release ${pinned} ${at}` });
        continue;
      }
      if (!mayHaveLanded.has(p.release)) violations.push({ kind: 'release-without-rollout', detail: `${p.instance}@${p.device} runs release ${p.release}, which no accepted rollout named ${at}` });
      else if (input.pins !== undefined && input.pins.get(p.device) !== p.release) {
        violations.push({ kind: 'stale-instance', detail: `${p.instance}@${p.device} runs release ${p.release}, but the device is pinned to ${input.pins.get(p.device) ?? 'no release'} ${at}` });
      }
    }
  }
  return violations;
}
