// Transitions about devices: who is in the target (joiners, leavers) and what each device's
// reports say about it (health verdicts, going offline, coming back).
import type { RolloutDevice } from '../../protocol/index.js';
import { gateChecksSchema } from '../../protocol/index.js';
import { compatibilityProblems } from './compatibility.js';
import { deviceHealth } from './device-health.js';
import { hardwareClassKey, placeLateJoiner } from './plan-waves.js';
import type { DeviceIndex } from './device-index.js';
import type { Draft } from './transition.js';
import type { DeviceObservation } from './types.js';
import { listIds, ms, targetIds } from './transition.js';

const defaultGateChecks = gateChecksSchema.parse({});
const returnReason = { offline: 'back online', 'no-window': 'a maintenance window will open', incompatible: 'now compatible' } as const;

/**
 * Per target (a set of ids, one per list of observations): its ids not in the rollout's device
 * map when last looked, and which index (map lineage) that was for. While the same index is
 * handed on from transition to transition and no entry was removed, only these can be newcomers:
 * a pass looks at them instead of at every device of the target.
 */
const missing = new WeakMap<ReadonlySet<string>, { index: DeviceIndex; removals: number; ids: string[] }>();
/** Per target: the observed devices outside it (the only ones that can leave it). */
const outside = new WeakMap<ReadonlySet<string>, string[]>();

function newcomerIds(draft: Draft, target: ReadonlySet<string>): string[] {
  const devices = draft.original;
  const memo = missing.get(target);
  const candidates = memo && memo.index === draft.index && memo.removals === draft.index.removals ? memo.ids : target;
  const ids: string[] = [];
  for (const id of candidates) if (devices[id] === undefined) ids.push(id);
  missing.set(target, { index: draft.index, removals: draft.index.removals, ids });
  return ids;
}

/** Devices that joined the target since the last write get a wave; pending ones that left it go. */
export function membershipTransition(draft: Draft): boolean {
  const { status, spec } = draft;
  if (!['scheduled', 'progressing', 'paused'].includes(status.phase)) return false;
  const observed = draft.observed;
  const target = targetIds(draft.input, spec);
  const newcomers = newcomerIds(draft, target).map((id) => observed.get(id) as DeviceObservation);
  const joined: string[] = [];
  if (newcomers.length > 0) {
    const canaryWave = spec.waves.findIndex((w) => w.canary !== undefined);
    const covered = new Set<string>();
    for (const id in status.devices) {
      const o = observed.get(id);
      if (status.devices[id]?.wave === canaryWave && o) covered.add(hardwareClassKey(o.hardware));
    }
    for (const o of newcomers.sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const wave = placeLateJoiner(spec, status, o, covered);
      if (wave === canaryWave) covered.add(hardwareClassKey(o.hardware));
      draft.writeDevice(o.id, { wave, state: 'pending', since: draft.at, late: true });
      joined.push(`${o.id} → ${draft.waveName(wave)}`);
    }
  }
  let others = outside.get(target);
  if (others === undefined) outside.set(target, (others = draft.input.devices.filter((o) => !target.has(o.id)).map((o) => o.id)));
  const left: string[] = [];
  for (const id of others) {
    const d = status.devices[id];
    if (d === undefined || (d.state !== 'pending' && d.state !== 'waiting-window')) continue;
    if (spec.waves[d.wave]?.gate === undefined) {
      draft.writeDevice(id, undefined);
      left.push(id);
    }
  }
  if (joined.length > 0) draft.event('Normal', 'DevicesJoined', `joined the target: ${listIds(joined)}`);
  if (left.length > 0) draft.event('Normal', 'DevicesLeft', `left the target before their turn: ${listIds(left.sort())}`);
  return joined.length + left.length > 0;
}

/** Health verdicts, offline devices deferred, deferred devices that came back. */
export function observeTransition(draft: Draft): boolean {
  const { status, spec, now } = draft;
  const observed = draft.observed;
  const active = status.phase === 'progressing' || status.phase === 'completed';
  const healthy: string[] = [];
  const deferred: string[] = [];
  const returned: string[] = [];
  const downloadedIds: string[] = [];
  const reflash: string[] = [];
  const failed: [string, string][] = [];
  let changed = false;
  // Unsorted (a sort of every device per step was a large part of a step at 10,000 devices):
  // what it reports is sorted below, so the order of events and actions does not depend on it.
  // Only devices in a state a report can change (not the pending ones of later waves, nor the
  // settled): at 10,000 devices a walk of every device per call was most of a step.
  for (const id of draft.idsIn(['updating', 'verifying', 'waiting-window', 'deferred'])) {
    const d = status.devices[id] as RolloutDevice;
    const o = observed.get(id);
    const online = o?.online === true;
    if (d.state === 'updating' || d.state === 'verifying') {
      const wave = spec.waves[d.wave];
      if (wave === undefined) continue;
      const verdict = deviceHealth({
        device: o,
        release: draft.input.release,
        minHealthySeconds: wave.minHealthySeconds,
        healthyDeadlineSeconds: wave.healthyDeadlineSeconds,
        updateStartedAt: ms(d.updateStartedAt ?? d.since),
        verifyingSince: d.state === 'verifying' && d.verifyingSince !== undefined ? ms(d.verifyingSince) : undefined,
        ...(wave.gate === undefined ? {} : { gate: wave.checks ?? defaultGateChecks }),
        now,
      });
      switch (verdict.kind) {
        case 'offline':
          draft.setDevice(id, { state: 'deferred', deferral: 'offline', reason: `went offline while ${d.state}`, verifyingSince: undefined });
          deferred.push(id);
          break;
        case 'failed':
          draft.setDevice(id, { state: 'failed', reason: verdict.reason });
          failed.push([id, `${id} (${draft.waveName(d.wave)}): ${verdict.reason}`]);
          break;
        case 'installing':
          if (d.state === 'updating') continue;
          draft.setDevice(id, { state: 'updating', reason: `not ready again: ${verdict.reason}`, verifyingSince: undefined });
          break;
        case 'soaking':
          if (d.state === 'verifying') continue;
          draft.setDevice(id, { state: 'verifying', verifyingSince: draft.at });
          break;
        case 'healthy':
          draft.setDevice(id, { state: 'healthy' });
          healthy.push(id);
          break;
      }
      changed = true;
    } else if (d.state === 'waiting-window' && !online) {
      draft.setDevice(id, { state: 'deferred', deferral: 'offline', reason: 'offline while waiting for its window' });
      deferred.push(id);
      changed = true;
    } else if (d.state === 'waiting-window' && o?.downloaded === true && d.downloaded === undefined) {
      // Kept as it was (since, reason), plus the fact: the install will be only a start.
      draft.writeDevice(id, { ...d, downloaded: true, reason: `${d.reason ?? 'waiting for its maintenance window'}; downloaded` });
      downloadedIds.push(id);
      changed = true;
    } else if (d.state === 'deferred' && online && active && deferralOver(draft, id, d)) {
      // Back while the rollout is active: it gets the release (an assigned one converges from its
      // retained desired state and is judged afresh). A halted rollout gives it nothing.
      if (d.assignedAt !== undefined) {
        draft.setDevice(id, { state: 'updating', reason: 'back online', deferral: undefined, updateStartedAt: draft.at, verifyingSince: undefined, flashFailure: undefined });
        reflash.push(id);
      } else draft.setDevice(id, { state: 'pending', reason: returnReason[d.deferral ?? 'offline'], deferral: undefined });
      returned.push(id);
      changed = true;
    }
  }
  for (const [, message] of failed.sort(([a], [b]) => (a < b ? -1 : 1))) draft.event('Warning', 'DeviceFailed', message);
  healthy.sort();
  deferred.sort();
  returned.sort();
  downloadedIds.sort();
  // Its workloads converge from the retained desired document; its MCUs may have missed the flash.
  if (reflash.length > 0 && draft.input.release.firmware.length > 0) draft.actions.push({ type: 'flash-release-firmware', deviceIds: reflash.sort(), release: draft.spec.release });
  if (healthy.length > 0) draft.event('Normal', 'DevicesHealthy', `healthy: ${listIds(healthy)}`);
  if (deferred.length > 0) draft.event('Normal', 'DevicesDeferred', `deferred (offline; not counted against thresholds): ${listIds(deferred)}`);
  if (returned.length > 0) draft.event('Normal', 'DevicesReturned', `back, continuing: ${listIds(returned)}`);
  if (downloadedIds.length > 0) draft.event('Normal', 'DevicesDownloaded', `waiting for their window, release downloaded: ${listIds(downloadedIds)}`);
  return changed;
}

/** A device deferred for a reason other than being offline comes back once that reason is gone. */
function deferralOver(draft: Draft, id: string, d: RolloutDevice): boolean {
  if (d.deferral === 'no-window') {
    const w = draft.input.window(id, draft.now);
    return w.open || w.nextOpen !== null;
  }
  if (d.deferral === 'incompatible') {
    const o = draft.observed.get(id);
    return o !== undefined && compatibilityProblems(draft.input.release, o.hardware).length === 0;
  }
  return true;
}
