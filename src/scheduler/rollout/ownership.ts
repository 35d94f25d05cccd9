// Two rollouts never fight over a device: a device belongs to at most one live rollout.
import type { RolloutState } from '../../protocol/index.js';

export interface OwnershipConflict {
  readonly deviceId: string;
  /** The rollout that owns it. */
  readonly owner: string;
}

/**
 * The devices a rollout owns: all of its devices while it runs (scheduled, progressing, paused);
 * after completion only those it still owes the release (deferred, pending, in flight); none once
 * rolled back or aborted.
 */
export function ownedDevices(rollout: RolloutState): string[] {
  const { phase } = rollout.status;
  if (phase === 'rolled-back' || phase === 'aborted') return [];
  const entries = Object.entries(rollout.status.devices);
  if (phase !== 'completed') return entries.map(([id]) => id);
  return entries.filter(([, d]) => !['healthy', 'failed', 'rolled-back'].includes(d.state)).map(([id]) => id);
}

/** For each device of `candidateIds` that another rollout owns: the owner (the new rollout's own name is ignored). */
export function ownershipConflicts(rollouts: readonly RolloutState[], candidateIds: readonly string[], newName?: string): OwnershipConflict[] {
  const owner = new Map<string, string>();
  for (const r of [...rollouts].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (r.name === newName) continue;
    for (const id of ownedDevices(r)) if (!owner.has(id)) owner.set(id, r.name);
  }
  return [...new Set(candidateIds)]
    .sort()
    .flatMap((deviceId) => {
      const o = owner.get(deviceId);
      return o === undefined ? [] : [{ deviceId, owner: o }];
    });
}

/** One line refusing a rollout that would take devices of another: names the owners. */
export function ownershipRefusal(conflicts: readonly OwnershipConflict[]): string | undefined {
  if (conflicts.length === 0) return undefined;
  const byOwner = new Map<string, string[]>();
  for (const c of conflicts) byOwner.set(c.owner, [...(byOwner.get(c.owner) ?? []), c.deviceId]);
  const parts = [...byOwner.entries()].map(([owner, ids]) => {
    const shown = ids.slice(0, 3).join(', ');
    return `rollout ${owner} owns ${ids.length} of its devices (${shown}${ids.length > 3 ? `, and ${ids.length - 3} more` : ''})`;
  });
  const it = byOwner.size > 1 ? 'them' : 'it';
  return `refused: ${parts.join('; ')}; wait for ${it} to finish, or abort ${it} first`;
}
