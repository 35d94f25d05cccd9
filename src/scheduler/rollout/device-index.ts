// The rollout's devices by wave and state, so that a step looks at the devices a decision can be
// about (the current wave's in-flight devices, the pending ones of started waves, the deferred)
// instead of walking every device of a 10,000-device rollout five times per call.
//
// Pure in effect: an index is a cache of one device map (a rollout's `status.devices`), kept in a
// WeakMap keyed by that very object; stored device maps are never edited in place (a transition
// writes a new map), so an index stays true for its map. A transition hands its index on to the
// map it produced (`moveDeviceIndex`) instead of building one again: the old map then builds its
// own if it is ever stepped again.
import type { RolloutDevice } from '../../protocol/index.js';
import type { WaveCounts } from './thresholds.js';

type DeviceState = RolloutDevice['state'];
type DeviceMap = Readonly<Record<string, RolloutDevice>>;

export class DeviceIndex {
  private readonly waves = new Map<number, Map<DeviceState, Set<string>>>();
  /** Device entries removed from the map since the index was built (what memos of "not in the map" check). */
  removals = 0;

  constructor(devices: DeviceMap) {
    for (const id in devices) this.add(id, devices[id] as RolloutDevice);
  }

  add(id: string, d: RolloutDevice): void {
    let byState = this.waves.get(d.wave);
    if (byState === undefined) this.waves.set(d.wave, (byState = new Map()));
    let ids = byState.get(d.state);
    if (ids === undefined) byState.set(d.state, (ids = new Set()));
    ids.add(id);
  }

  remove(id: string, d: RolloutDevice): void {
    this.waves.get(d.wave)?.get(d.state)?.delete(id);
  }

  /** The ids of one wave in one state (live: do not change the index while iterating). */
  ids(wave: number, state: DeviceState): ReadonlySet<string> {
    return this.waves.get(wave)?.get(state) ?? empty;
  }

  /** The waves that hold devices. */
  waveNumbers(): IterableIterator<number> {
    return this.waves.keys();
  }

  count(wave: number, state: DeviceState): number {
    return this.ids(wave, state).size;
  }

  /** waveCounts (thresholds.ts) from the index: no walk. */
  waveCounts(wave: number): WaveCounts {
    const n = (s: DeviceState): number => this.count(wave, s);
    const updating = n('updating');
    const c = { pending: n('pending'), waitingWindow: n('waiting-window'), inFlight: updating + n('verifying'), updating, healthy: n('healthy'), failed: n('failed'), deferred: n('deferred'), rolledBack: n('rolled-back') };
    return { ...c, total: c.pending + c.waitingWindow + c.inFlight + c.healthy + c.failed + c.deferred + c.rolledBack };
  }
}

const empty: ReadonlySet<string> = new Set();
const indexes = new WeakMap<DeviceMap, DeviceIndex>();
/** Indexes built from a whole map (not handed on): what the cost tests count. */
export const deviceIndexStats = { built: 0 };

/** The index of a device map, built once per map. */
export function deviceIndex(devices: DeviceMap): DeviceIndex {
  let index = indexes.get(devices);
  if (index === undefined) {
    indexes.set(devices, (index = new DeviceIndex(devices)));
    deviceIndexStats.built += 1;
  }
  return index;
}

/**
 * Hands the index of `from` on to `to`, a map that differs from `from` only in the entries of
 * `changed` (set, replaced or deleted). `from` builds a new index if it is used again.
 */
export function moveDeviceIndex(from: DeviceMap, to: DeviceMap, changed: Iterable<string>): void {
  const index = indexes.get(from);
  if (index === undefined || from === to) return;
  indexes.delete(from);
  for (const id of changed) {
    const before = from[id];
    const after = to[id];
    if (before === after) continue;
    if (before !== undefined) index.remove(id, before);
    if (after !== undefined) index.add(id, after);
    else index.removals += 1;
  }
  indexes.set(to, index);
}

/**
 * For a caller that stores a copy of a rollout and carries on from the copy: `copy` holds the
 * same entries as `original` (equal in wave and state), so it takes over its index.
 */
export function shareDeviceIndex(original: DeviceMap, copy: DeviceMap): void {
  const index = indexes.get(original);
  if (index === undefined || original === copy || indexes.has(copy)) return;
  indexes.set(copy, index);
  indexes.delete(original);
}

/** The ids of a device map's entries in `state`, from its index (built once per map). */
export function idsInState(devices: DeviceMap, state: DeviceState): string[] {
  const index = deviceIndex(devices);
  const ids: string[] = [];
  for (const wave of index.waveNumbers()) for (const id of index.ids(wave, state)) ids.push(id);
  return ids;
}
