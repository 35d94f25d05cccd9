// Transitions about waves: start, judge, advance, pause, roll back, and handing out the release
// to the devices whose turn it is (paced, inside their windows).
import type { GateVerdict, PauseKind, RolloutAction, RolloutDevice } from '../../protocol/index.js';
import { formatReleaseRef } from '../../protocol/index.js';
import { compatibilityProblems } from './compatibility.js';
import { previousFirmware, restoreFirmware } from './firmware-restore.js';
import { judgeGate, judgeWave, resolveCountOrPercent } from './thresholds.js';
import type { Draft } from './transition.js';
import { noFirmwareImages } from './types.js';
import { groupIds, iso, listIds, ms } from './transition.js';

export const hasGateWave = (draft: Draft): boolean => draft.spec.waves[0]?.gate !== undefined;

/** A pass for this exact release (digest), or the operator's recorded override. */
export function gateSatisfied(draft: Draft): boolean {
  if (draft.status.gateOverride !== null) return true;
  const g = draft.status.gate;
  return g !== null && g.result === 'pass' && g.releaseDigest === draft.status.releaseDigest && g.releaseDigest === draft.input.release.digest;
}

/** Why wave `index` may not start, if it may not: later waves need the gate's pass. */
export function gateBlock(draft: Draft, index: number): string | undefined {
  if (index === 0 || index >= draft.spec.waves.length || !hasGateWave(draft) || gateSatisfied(draft)) return undefined;
  return `${draft.waveName(index)} needs a HIL gate pass for release digest ${draft.status.releaseDigest}; none is recorded`;
}

export function pause(draft: Draft, kind: PauseKind, reason: string, actor?: string): void {
  draft.status.phase = 'paused';
  draft.status.pause = { kind, reason, at: draft.at };
  draft.history('paused', reason, { wave: Math.max(0, draft.status.currentWave), ...(actor === undefined ? {} : { actor }) });
  draft.event('Normal', 'RolloutPaused', reason);
}

/** Starts wave `index` (skipping a gate that already passed or is overridden), or completes. */
export function startWave(draft: Draft, index: number): void {
  const { status, spec } = draft;
  for (let i = index; ; i++) {
    const wave = spec.waves[i];
    const ws = status.waves[i];
    if (wave === undefined || ws === undefined) return complete(draft);
    if (wave.gate !== undefined) {
      const stored = draft.input.gateVerdict;
      if (stored !== null && stored.result === 'pass' && stored.releaseDigest === status.releaseDigest) {
        status.gate = stored;
        skipWave(draft, i, `the gate already passed for release digest ${stored.releaseDigest} (rollout ${stored.rollout}, ${stored.at})`);
        continue;
      }
      if (spec.skipGate !== undefined) {
        status.gateOverride = { reason: spec.skipGate.reason, at: draft.at };
        draft.history('gate-skipped', `gate skipped by override: ${spec.skipGate.reason}`, { wave: i });
        skipWave(draft, i, `skipped by override: ${spec.skipGate.reason}`);
        continue;
      }
    }
    const blocked = gateBlock(draft, i);
    if (blocked !== undefined) return pause(draft, 'gate', blocked);
    ws.state = 'active';
    ws.startedAt = draft.at;
    ws.progressAt = draft.at;
    status.currentWave = i;
    const n = draft.waveCounts(i).total;
    draft.history('wave-started', `${draft.waveName(i)} started with ${n} device(s)`, { wave: i });
    draft.event('Normal', 'WaveStarted', `${draft.waveName(i)} started with ${n} device(s)`);
    return;
  }
}

function skipWave(draft: Draft, i: number, reason: string): void {
  const ws = draft.status.waves[i];
  if (ws === undefined) return;
  Object.assign(ws, { state: 'skipped', finishedAt: draft.at, reason });
  draft.status.currentWave = i;
  draft.history('wave-skipped', `${draft.waveName(i)}: ${reason}`, { wave: i });
  draft.event('Normal', 'WaveSkipped', `${draft.waveName(i)}: ${reason}`);
}

function complete(draft: Draft): void {
  const all = Object.values(draft.status.devices);
  const count = (s: RolloutDevice['state']): number => all.filter((d) => d.state === s).length;
  const summary = `${count('healthy')} healthy, ${count('failed')} failed, ${count('deferred')} deferred (they get the release when they return)`;
  draft.status.phase = 'completed';
  draft.status.pause = null;
  draft.history('completed', `completed: ${summary}`);
  draft.event('Normal', 'RolloutCompleted', `${formatReleaseRef(draft.spec.release)}: ${summary}`);
}

function recordGate(draft: Draft, result: GateVerdict['result'], reason: string): void {
  const verdict: GateVerdict = { releaseDigest: draft.status.releaseDigest, result, at: draft.at, rollout: draft.state.name, reason };
  draft.status.gate = verdict;
  draft.actions.push({ type: 'record-gate-verdict', verdict });
  draft.history(result === 'pass' ? 'gate-passed' : 'gate-failed', `HIL gate ${result === 'pass' ? 'passed' : 'failed'}: ${reason}`, { wave: 0 });
  draft.event(result === 'pass' ? 'Normal' : 'Warning', result === 'pass' ? 'GatePassed' : 'GateFailed', reason);
}

/**
 * Every device the rollout assigned goes back to what it ran before, in one transition: not
 * waved, not gated, not judged. `rolled-back` is terminal, so a rollback cannot start another.
 */
export function rollback(draft: Draft, reason: string, actor?: string): void {
  const { status } = draft;
  const touched = Object.entries(status.devices).filter(([, d]) => d.assignedAt !== undefined && d.state !== 'rolled-back');
  const groups = groupIds(touched.map(([id, d]) => [id, d.previousRelease ?? null] as const), (r) => (r === null ? '' : formatReleaseRef(r)));
  for (const g of groups) draft.actions.push({ type: 'revert', deviceIds: g.ids, toRelease: g.key });
  // Workloads and firmware go back together: what each MCU ran before is flashed again.
  const notRestored = restoreFirmware(draft, touched.map(([id]) => id));
  for (const [id] of touched) {
    const missing = notRestored.get(id);
    draft.setDevice(id, { state: 'rolled-back', reason: missing === undefined ? reason : `${reason}; ${missing}`.slice(0, 500) });
  }
  for (const ws of status.waves) if (ws.state === 'active') Object.assign(ws, { state: 'failed', finishedAt: draft.at, reason: `rolled back: ${reason}` });
  status.phase = 'rolled-back';
  status.pause = null;
  const message = `rolled back ${touched.length} device(s) to their previous release: ${reason}`;
  draft.history('rolled-back', message, actor === undefined ? {} : { actor });
  draft.event('Warning', 'RolledBack', message);
}

function failWave(draft: Draft, i: number, reason: string): void {
  const ws = draft.status.waves[i];
  const wave = draft.spec.waves[i];
  if (ws === undefined || wave === undefined) return;
  Object.assign(ws, { state: 'failed', finishedAt: draft.at, reason });
  draft.history('wave-failed', `${draft.waveName(i)} failed: ${reason}`, { wave: i });
  draft.event('Warning', 'WaveFailed', `${draft.waveName(i)} failed: ${reason}`);
  if (wave.gate !== undefined) recordGate(draft, 'fail', reason);
  if (wave.onFailure === 'rollback') rollback(draft, `${draft.waveName(i)} failed: ${reason}`);
  else pause(draft, 'failure', `${draft.waveName(i)} failed: ${reason}; promote continues, undo rolls back, abort stops`);
}

/** Marks wave i succeeded and moves on: the next wave, a pause for promotion, or completion. */
export function succeedWave(draft: Draft, i: number, reason: string): void {
  const ws = draft.status.waves[i];
  const wave = draft.spec.waves[i];
  if (ws === undefined || wave === undefined) return;
  Object.assign(ws, { state: 'succeeded', finishedAt: draft.at, reason });
  draft.history('wave-succeeded', `${draft.waveName(i)} succeeded: ${reason}`, { wave: i });
  draft.event('Normal', 'WaveSucceeded', `${draft.waveName(i)} succeeded: ${reason}`);
  if (wave.gate !== undefined) recordGate(draft, 'pass', reason);
  const last = i === draft.spec.waves.length - 1;
  if (!last && wave.onSuccess === 'pause') pause(draft, 'promotion', `${draft.waveName(i)} succeeded; rollout promote starts ${draft.waveName(i + 1)}`);
  else startWave(draft, i + 1);
}

/** Judges the current wave: failure, success, inconclusive, or a progress deadline passed. */
export function judgeTransition(draft: Draft): boolean {
  const { status, spec, now } = draft;
  if (status.phase !== 'progressing') return false;
  const i = status.currentWave;
  const ws = status.waves[i];
  const wave = spec.waves[i];
  if (ws?.state !== 'active' || wave === undefined) return false;
  const counts = draft.waveCounts(i);
  let verdict = wave.gate !== undefined ? judgeGate(counts) : judgeWave(counts, wave);
  // Deferred devices do not block a wave, but the rollout must not end on no evidence at all:
  // when the last wave would succeed while no device anywhere proved the release healthy, it
  // keeps waiting for its deferred devices (its progress deadline still bounds the wait), so a
  // release that fails on them is still judged and rolled back instead of silently "completed".
  if (verdict.kind === 'succeeded' && i === spec.waves.length - 1 && counts.deferred > 0 && draft.count('healthy') === 0) verdict = { kind: 'running' };
  switch (verdict.kind) {
    case 'failed':
      failWave(draft, i, verdict.reason);
      return true;
    case 'succeeded':
      succeedWave(draft, i, verdict.reason);
      return true;
    case 'inconclusive':
      pause(draft, 'inconclusive', `${draft.waveName(i)} is inconclusive: ${verdict.reason}; promote accepts it, undo rolls back`);
      return true;
    case 'running':
      break;
  }
  const deadline = ms(ws.progressAt ?? ws.startedAt ?? draft.at) + wave.progressDeadlineSeconds * 1000;
  if (now < deadline) return false;
  // Devices waiting for a window that will open are not a stall: the window has a definite time.
  const unsettled = counts.pending + counts.waitingWindow + counts.inFlight;
  if (unsettled > 0 && counts.waitingWindow === unsettled) return false;
  failWave(
    draft,
    i,
    `no progress for progressDeadlineSeconds (${wave.progressDeadlineSeconds}s): ${counts.pending} pending, ${counts.waitingWindow} waiting for a window, ${counts.inFlight} updating or verifying`,
  );
  return true;
}

/**
 * Hands out the release: devices of the current wave as pacing allows (updating ≤ maxUnavailable,
 * updating + verifying ≤ maxUnavailable + maxSurge); devices of finished waves (returned or late)
 * at once. Offline or incompatible → deferred; window closed → waiting-window (downloads may start).
 */
export function assignTransition(draft: Draft): boolean {
  const { status, spec, now } = draft;
  if (status.phase !== 'progressing' && status.phase !== 'completed') return false;
  const observed = draft.observed;
  // From the index: the pending devices of later waves (most of a rollout) are not walked.
  const candidates = draft
    .idsIn(['pending', 'waiting-window'], status.currentWave)
    .map((id) => [id, status.devices[id] as RolloutDevice] as const)
    .filter(([, d]) => status.waves[d.wave]?.state === 'active' || (spec.waves[d.wave]?.gate === undefined && status.waves[d.wave]?.state !== 'pending' && status.waves[d.wave]?.state !== 'skipped'))
    .sort(([a, x], [b, y]) => x.wave - y.wave || (a < b ? -1 : 1));
  const slots = new Map<number, { updating: number; inFlight: number; maxUnavailable: number; maxInFlight: number }>();
  const assigned: string[] = [];
  const waiting: (readonly [string, number])[] = [];
  const deferred: string[] = [];
  let reopened = 0;
  for (const [id, d] of candidates) {
    const o = observed.get(id);
    if (o === undefined || !o.online) {
      draft.setDevice(id, { state: 'deferred', deferral: 'offline', reason: 'offline when its turn came' });
      deferred.push(id);
      continue;
    }
    const problems = compatibilityProblems(draft.input.release, o.hardware);
    if (problems.length > 0) {
      draft.setDevice(id, { state: 'deferred', deferral: 'incompatible', reason: `incompatible: ${problems.join('; ')}` });
      deferred.push(id);
      continue;
    }
    const win = draft.input.window(id, now);
    if (!win.open) {
      if (win.nextOpen === null) {
        draft.setDevice(id, { state: 'deferred', deferral: 'no-window', reason: 'no maintenance window will open for it' });
        deferred.push(id);
      } else if (d.state === 'pending') {
        draft.setDevice(id, { state: 'waiting-window', reason: `its maintenance window opens at ${iso(win.nextOpen)}` });
        waiting.push([id, win.nextOpen]);
      }
      continue;
    }
    if (status.waves[d.wave]?.state === 'active') {
      const wave = spec.waves[d.wave];
      if (wave === undefined) continue;
      let slot = slots.get(d.wave);
      if (slot === undefined) {
        const c = draft.waveCounts(d.wave);
        const maxUnavailable = resolveCountOrPercent(wave.maxUnavailable, c.total);
        slot = { updating: c.updating, inFlight: c.inFlight, maxUnavailable, maxInFlight: maxUnavailable + resolveCountOrPercent(wave.maxSurge, c.total) };
        slots.set(d.wave, slot);
      }
      if (slot.updating >= slot.maxUnavailable || slot.inFlight >= slot.maxInFlight) {
        // Its window is open now: it waits for a slot, not for the window.
        if (d.state === 'waiting-window') {
          draft.setDevice(id, { state: 'pending', reason: 'its window is open; waiting for a slot (maxUnavailable)' });
          reopened += 1;
        }
        continue;
      }
      slot.updating += 1;
      slot.inFlight += 1;
    }
    const before = previousFirmware(draft.input.release, o, draft.input.firmwareImages ?? noFirmwareImages);
    draft.setDevice(id, { state: 'updating', assignedAt: draft.at, updateStartedAt: draft.at, previousRelease: o.release, ...(before ? { previousFirmware: before } : {}) });
    assigned.push(id);
  }
  if (assigned.length > 0) {
    assigned.sort();
    draft.actions.push({ type: 'assign-release', deviceIds: assigned, release: spec.release });
    draft.event('Normal', 'DevicesAssigned', `${formatReleaseRef(spec.release)} assigned to ${listIds(assigned)}`);
  }
  for (const g of groupIds(waiting, (t) => String(t).padStart(16, '0'))) {
    const action: RolloutAction = { type: 'await-window', deviceIds: g.ids, release: spec.release, nextOpen: iso(g.key) };
    draft.actions.push(action);
    draft.event('Normal', 'WindowClosed', `${listIds(g.ids)}: maintenance window closed; installs wait until ${iso(g.key)}`);
  }
  if (deferred.length > 0) draft.event('Normal', 'DevicesDeferred', `deferred (not counted against thresholds): ${listIds(deferred.sort())}`);
  return assigned.length + waiting.length + deferred.length + reopened > 0;
}
