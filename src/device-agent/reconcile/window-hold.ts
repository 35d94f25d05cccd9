// Maintenance windows on the device: an instance whose template came from a rollout's release
// (`release` set in the desired document) is installed only while the device's window is open,
// decided by the same `windowState` the hub uses, on the windows the hub sent with the desired
// document. A device that lost the hub mid-rollout therefore still keeps to its window. Only
// installs wait: restarts of what is installed, removals of what is no longer desired, and
// downloads go on at any time — a held install, and a revision the hub lists under `prefetch`
// (its window was closed when its turn came), get an `ensure-image` step so that the install is
// only a start once the window opens. Pure: the reconciler passes the plan and the clock.
import { windowState, type DesiredInstance, type DesiredState } from '../../protocol/index.js';
import { prefetchKey, type PrefetchRecord, type Step } from './model.js';

/** A failed download is tried again after this long (the window may be hours away). */
export const PREFETCH_RETRY_MS = 30_000;

export interface WindowHold {
  readonly steps: Step[];
  /** Ids of instances whose install waits, with the instant the window opens (undefined: not within the search horizon). */
  readonly held: ReadonlyMap<string, number | undefined>;
}

/** Leaves out of `steps` the installs of release revisions while the window is closed. */
export function holdForWindow(steps: readonly Step[], desired: DesiredState | undefined, now: number): WindowHold {
  const windows = desired?.maintenanceWindows ?? [];
  if (windows.length === 0) return { steps: [...steps], held: new Map() };
  const state = windowState(windows, {}, now);
  if (state.open) return { steps: [...steps], held: new Map() };
  const held = new Map<string, number | undefined>();
  for (const s of steps) {
    if (s.kind === 'start' && s.instance.release !== undefined && s.reason !== 'restart') held.set(s.instance.id, state.nextOpen);
  }
  if (held.size === 0) return { steps: [...steps], held };
  const revisionOf = new Map((desired?.instances ?? []).map((i) => [i.id, i.revision]));
  const kept = steps.filter((s) => {
    if (s.kind === 'start') return !held.has(s.instance.id);
    // The old revision keeps running until the new one may be installed.
    if ((s.kind === 'stop' || s.kind === 'remove') && held.has(s.id)) return s.revision === revisionOf.get(s.id);
    return true;
  });
  for (const [id, until] of held) {
    if (until !== undefined) kept.push({ kind: 'wait', id, until, reason: 'maintenance window closed' });
  }
  return { steps: kept, held };
}

/**
 * The revisions to download ahead of their install: the desired document's `prefetch` list and
 * the installs held for the window, without those already here (or failed a moment ago).
 */
export function prefetchCandidates(desired: DesiredState | undefined, held: ReadonlyMap<string, number | undefined>): DesiredInstance[] {
  const out = new Map<string, DesiredInstance>();
  for (const i of desired?.prefetch ?? []) out.set(prefetchKey(i), i);
  for (const i of desired?.instances ?? []) if (held.has(i.id)) out.set(prefetchKey(i), i);
  return [...out.values()];
}

export function prefetchSteps(candidates: readonly DesiredInstance[], done: ReadonlyMap<string, PrefetchRecord>, now: number): Step[] {
  const steps: Step[] = [];
  for (const i of candidates) {
    const record = done.get(prefetchKey(i));
    if (record?.state === 'downloaded') continue;
    if (record?.state === 'failed' && record.retryAt !== undefined && now < record.retryAt) {
      steps.push({ kind: 'wait', id: i.id, until: record.retryAt, reason: `download failed: ${record.error ?? 'unknown error'}` });
      continue;
    }
    steps.push({ kind: 'ensure-image', instance: i, reason: 'prefetch' });
  }
  return steps;
}
