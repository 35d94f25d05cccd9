// Maintenance windows on the device: an instance whose template came from a rollout's release
// (`release` set in the desired document) is installed only while the device's window is open,
// decided by the same `windowState` the hub uses, on the windows the hub sent with the desired
// document. A device that lost the hub mid-rollout therefore still keeps to its window. Only
// installs wait: restarts of what is installed, removals of what is no longer desired, and
// image pulls go on at any time. Pure: the reconciler passes the plan and the clock.
import { windowState, type DesiredState } from '../../protocol/index.js';
import type { Step } from './model.js';

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
