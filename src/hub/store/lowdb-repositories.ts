import { splitDevice as split, type ObservedDevice, type ObservedDocument, type StoreDocument, type StoredDevice } from './document.js';
import { eventSubjects, type DesiredState, type DeviceEvent, type DeviceRecord, type ReportedState } from './records.js';
import { assertStorable } from './record-check.js';
import type { ShardedCollection } from './sharded-control.js';
import type { ObservedCollection } from './observed-journal.js';
import {
  HardwareIdTakenError,
  type DeviceRepository,
  type DeviceStateRepository,
  type Durability,
  type EventRepository,
  type PlacementRepository,
  type TokenRepository,
  type WorkloadRepository,
} from './repository.js';

const EVENTS_PER_SUBJECT = 50;
const WORKLOAD_PREFIX = eventSubjects.workload('');
const DEVICE_PREFIX = eventSubjects.device('');
const SERVICE_PREFIX = eventSubjects.service('');

/** What every lowdb repository needs: the live documents and a way to persist each. */
export interface Backing {
  doc(): StoreDocument;
  observed(): ObservedDocument;
  persist(durability: Durability): Promise<void>;
  /** A record of a sharded collection was set or deleted (only its shard is written; sharded-control.ts). */
  controlChanged(collection: ShardedCollection, key: string): void;
  /** Changes so far to a sharded collection (a snapshot taken at the same count is still true). */
  changes(collection: ShardedCollection): number;
  /** Observed state is always flushed lazily (see document.ts). */
  /** An observed record changed in memory (the lazy flush writes it). */
  observedChanged(collection: ObservedCollection, key: string): void;
}


function merged(b: Backing, id: string): DeviceRecord | undefined {
  const stored = b.doc().devices[id];
  return stored && structuredClone({ ...stored, ...b.observed().devices[id] });
}

/** Callers get copies: a record changed outside `update` must not change the store unseen. */
function copy<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}

export function deviceRepository(b: Backing, hardwareIndex: Map<string, string>): DeviceRepository {
  const merges = new Map<string, { stored: StoredDevice; observed: ObservedDevice | undefined; merged: DeviceRecord }>();
  /** Bumped on every write of a device's part below: the last snapshot is handed out again while it stays. */
  let writes = 0;
  let lastSnapshot: { writes: number; devices: object; observed: object; list: readonly DeviceRecord[] } | undefined;
  /** Each device's place in the last snapshot's list. */
  const positions = new Map<string, number>();
  /** Devices written since the last snapshot; undefined once a device was added or removed (places move: the next snapshot walks them all). */
  let written: Set<string> | undefined;
  const wrote = (id: string, addedOrRemoved = false): void => {
    writes += 1;
    if (addedOrRemoved || written === undefined || written.size >= 10_000) written = undefined;
    else written.add(id);
  };
  /** A device's merged record, kept while both parts are the same objects. */
  const mergedOf = (id: string, stored: StoredDevice, seen: ObservedDevice | undefined): DeviceRecord => {
    const known = merges.get(id);
    if (known && known.stored === stored && known.observed === seen) return known.merged;
    const merged = { ...stored, ...seen } as DeviceRecord;
    merges.set(id, { stored, observed: seen, merged });
    return merged;
  };
  /**
   * Writes a whole record back, each part to its document; the control part only if it
   * changed. `device` must be owned by the store from here on (a private copy).
   */
  const store = async (device: DeviceRecord, durability: Durability): Promise<void> => {
    const { stored, observed } = split(device);
    const before = b.doc().devices[device.id];
    // Only a new record (or a new hardware id) is checked: a file written before this check may
    // hold two records of one board, and each must stay writable (labels, approvals).
    const owner = before?.hardwareId === device.hardwareId ? undefined : hardwareIndex.get(device.hardwareId);
    if (owner !== undefined && owner !== device.id && b.doc().devices[owner] !== undefined) throw new HardwareIdTakenError(device.hardwareId, owner);
    const controlChanged = !before || JSON.stringify(before) !== JSON.stringify(stored);
    // Checked before anything is written; only when the control part changed (a status storm
    // changes observed state alone and pays nothing).
    if (controlChanged) assertStorable('devices', device.id, stored);
    wrote(device.id, !before);
    b.observed().devices[device.id] = observed;
    b.observedChanged('devices', device.id);
    if (!controlChanged) return;
    b.doc().devices[device.id] = stored;
    b.controlChanged('devices', device.id);
    hardwareIndex.set(device.hardwareId, device.id);
    await b.persist(durability);
  };
  return {
    get: async (id) => merged(b, id),
    has: async (id) => b.doc().devices[id] !== undefined,
    credentialHash: async (id) => b.doc().devices[id]?.credentialHash,
    touch: async (id, lastSeen) => {
      if (b.doc().devices[id] === undefined) return false;
      // Replaced, not edited: snapshots handed out before keep what they saw. Status and facts
      // keep their identity, so nothing derived from them (compiled devices) is invalidated.
      const observed = b.observed().devices;
      observed[id] = { ...observed[id], lastSeen };
      wrote(id);
      b.observedChanged('devices', id);
      return true;
    },
    observe: async (id, change) => {
      if (b.doc().devices[id] === undefined) return false;
      const observed = b.observed().devices;
      // A new object (snapshots handed out keep theirs); facts keep their identity.
      const draft: ObservedDevice = { ...observed[id] };
      change(draft);
      observed[id] = draft;
      wrote(id);
      b.observedChanged('devices', id);
      return true;
    },
    findByHardwareId: async (hw) => {
      const id = hardwareIndex.get(hw);
      return id === undefined ? undefined : merged(b, id);
    },
    // Both parts are replaced whole on every write, never edited in place (see `snapshot`).
    view: async (id) => {
      const stored = b.doc().devices[id];
      return stored && ({ ...stored, ...b.observed().devices[id] } as DeviceRecord);
    },
    list: async () => Object.keys(b.doc().devices).flatMap((id) => merged(b, id) ?? []),
    // Both parts are replaced whole on every write (see `store` and `update`), never edited in
    // place, so a shallow merge is a stable snapshot.
    snapshot: async () => {
      const { devices } = b.doc();
      const observed = b.observed().devices;
      // Nothing written since the last one: the same list (a pass over 20,000 devices that changed
      // nothing then walks none of them here).
      const same = lastSnapshot !== undefined && lastSnapshot.devices === devices && lastSnapshot.observed === observed;
      if (same && lastSnapshot?.writes === writes) return lastSnapshot.list;
      // Only written devices, none added or removed: the last list with those places replaced
      // (a report storm touches some devices between passes, and a pass then walks those only).
      if (same && written !== undefined && lastSnapshot !== undefined && [...written].every((id) => positions.has(id) && devices[id] !== undefined)) {
        const out = [...lastSnapshot.list];
        for (const id of written) out[positions.get(id) as number] = mergedOf(id, devices[id] as StoredDevice, observed[id]);
        written = new Set();
        lastSnapshot = { writes, devices, observed, list: out };
        return out;
      }
      const out: DeviceRecord[] = [];
      positions.clear();
      for (const id in devices) {
        // The merged record is kept while both parts are the same objects: a fleet-wide pass then
        // allocates nothing for devices that did not change, and what is derived from a record
        // (compiled scheduler devices) can be kept by the record's identity.
        positions.set(id, out.length);
        out.push(mergedOf(id, devices[id] as StoredDevice, observed[id]));
      }
      if (merges.size > out.length) for (const id of merges.keys()) if (devices[id] === undefined) merges.delete(id);
      written = new Set();
      lastSnapshot = { writes, devices, observed, list: out };
      return out;
    },
    count: async () => {
      const ids = Object.keys(b.doc().devices);
      const observed = b.observed().devices;
      return { total: ids.length, online: ids.filter((id) => observed[id]?.status?.state === 'online').length };
    },
    put: (device, durability) => store(structuredClone(device), durability),
    update: async (id, change, durability) => {
      const stored = b.doc().devices[id];
      if (!stored) return undefined;
      // A private copy of the control part; observed values (status, facts) are replaced
      // whole by every caller, never edited in place, so they need no copy (a storm of status
      // updates would otherwise clone every device's facts each time).
      const draft: DeviceRecord = { ...structuredClone(stored), ...b.observed().devices[id] };
      change(draft);
      await store(draft, durability);
      return structuredClone(draft);
    },
    delete: async (id) => {
      const stored = b.doc().devices[id];
      if (!stored) return undefined;
      const freed: { workload: string; ordinal: string }[] = [];
      wrote(id, true);
      delete b.doc().devices[id];
      delete b.doc().desired[id];
      b.controlChanged('devices', id);
      b.controlChanged('desired', id);
      if (hardwareIndex.get(stored.hardwareId) === id) hardwareIndex.delete(stored.hardwareId);
      // Replicas placed here are free again: the next placement pass puts them elsewhere.
      // Replaced, not edited: placement snapshots handed out keep what they saw.
      const placements = b.doc().placements;
      for (const [name, stored] of Object.entries(placements)) {
        if (!Object.values(stored.replicas).includes(id)) continue;
        const placement = structuredClone(stored);
        for (const [ordinal, deviceId] of Object.entries(placement.replicas)) {
          if (deviceId !== id) continue;
          delete placement.replicas[ordinal];
          if (placement.peripherals) delete placement.peripherals[ordinal];
          freed.push({ workload: placement.workload, ordinal });
        }
        placements[name] = placement;
      }
      delete b.observed().devices[id];
      delete b.observed().reported[id];
      reportedChanged(b, id);
      delete b.observed().events[eventSubjects.device(id)];
      b.observedChanged('devices', id);
      b.observedChanged('reported', id);
      b.observedChanged('events', eventSubjects.device(id));
      await b.persist('sync');
      return { freed };
    },
  };
}

export function tokenRepository(b: Backing): TokenRepository {
  return {
    get: async (id) => copy(b.doc().tokens[id]),
    list: async () => Object.values(b.doc().tokens).map((t) => structuredClone(t)),
    put: async (token) => {
      assertStorable('tokens', token.id, token);
      b.doc().tokens[token.id] = structuredClone(token);
      await b.persist('sync');
    },
    update: async (id, change, durability = 'sync') => {
      const stored = b.doc().tokens[id];
      if (!stored) return undefined;
      const token = structuredClone(stored);
      change(token);
      assertStorable('tokens', id, token);
      b.doc().tokens[id] = token;
      await b.persist(durability);
      return structuredClone(token);
    },
  };
}

export function eventRepository(b: Backing): EventRepository {
  return {
    append: async (subject, event) => {
      // History is kept only for what exists: an event about a workload deleted while a
      // placement pass was running, or one a device names, would otherwise greet a new
      // workload of that name (and a device-supplied name would become a key here).
      if (subject.startsWith(WORKLOAD_PREFIX) && !b.doc().workloads[subject.slice(WORKLOAD_PREFIX.length)]) return;
      if (subject.startsWith(DEVICE_PREFIX) && !b.doc().devices[subject.slice(DEVICE_PREFIX.length)]) return;
      if (subject.startsWith(SERVICE_PREFIX) && !b.doc().services[subject.slice(SERVICE_PREFIX.length)]) return;
      const list = (b.observed().events[subject] ??= []);
      list.push(event);
      if (list.length > EVENTS_PER_SUBJECT) list.splice(0, list.length - EVENTS_PER_SUBJECT);
      b.observedChanged('events', subject);
    },
    list: async (subject) => (b.observed().events[subject] ?? []).map((e: DeviceEvent) => ({ ...e })),
  };
}

export function workloadRepository(b: Backing): WorkloadRepository {
  return {
    get: async (name) => copy(b.doc().workloads[name]),
    list: async () => Object.values(b.doc().workloads).map((w) => structuredClone(w)),
    putAll: async (workloads) => {
      for (const w of workloads) assertStorable('workloads', w.name, w);
      for (const w of workloads) b.doc().workloads[w.name] = structuredClone(w);
      await b.persist('sync');
    },
    delete: async (name) => {
      if (!b.doc().workloads[name]) return false;
      delete b.doc().workloads[name];
      delete b.doc().placements[name];
      // A new workload of the same name starts with its own history, not this one's.
      delete b.observed().events[eventSubjects.workload(name)];
      b.observedChanged('events', eventSubjects.workload(name));
      await b.persist('sync');
      return true;
    },
  };
}

export function placementRepository(b: Backing): PlacementRepository {
  return {
    get: async (workload) => copy(b.doc().placements[workload]),
    list: async () => Object.values(b.doc().placements).map((p) => structuredClone(p)),
    // The stored records themselves: `put` and a device's deletion replace a record whole, never edit it.
    snapshot: async () => Object.values(b.doc().placements),
    put: async (placement) => {
      assertStorable('placements', placement.workload, placement);
      b.doc().placements[placement.workload] = structuredClone(placement);
      await b.persist('sync');
    },
    delete: async (workload) => {
      delete b.doc().placements[workload];
      await b.persist('sync');
    },
  };
}

/**
 * The read-only map of reported states, per store: the last one handed out and the devices whose
 * report was set or deleted since. A burst of reports asks for a new map per pass: a copy of the
 * last map with those few entries changed is a fraction of a map rebuilt from every entry.
 */
const reportedViews = new WeakMap<Backing, { source: object; map: ReadonlyMap<string, ReportedState>; changed: Set<string> }>();

function reportedChanged(b: Backing, id: string): void {
  reportedViews.get(b)?.changed.add(id);
}

function reportedSnapshot(b: Backing): ReadonlyMap<string, ReportedState> {
  const source = b.observed().reported;
  const view = reportedViews.get(b);
  // A new observed document (loaded again) is read whole.
  if (view === undefined || view.source !== source) {
    const map = new Map(Object.entries(source));
    reportedViews.set(b, { source, map, changed: new Set() });
    return map;
  }
  if (view.changed.size === 0) return view.map;
  // Maps handed out before are never changed: a new one, from the last.
  const map = new Map(view.map);
  for (const id of view.changed) {
    const r = source[id];
    if (r === undefined) map.delete(id);
    else map.set(id, r);
  }
  reportedViews.set(b, { source, map, changed: new Set() });
  return map;
}

export function deviceStateRepository(b: Backing): DeviceStateRepository {
  let desiredView: { changes: number; map: ReadonlyMap<string, DesiredState> } | undefined;
  /** Devices whose document putDesired replaced since the view was made. */
  let written: string[] = [];
  return {
    desired: async (id) => copy(b.doc().desired[id]),
    allDesired: async () => new Map(Object.entries(b.doc().desired).map(([k, v]) => [k, structuredClone(v)])),
    // putDesired stores a copy and later replaces it whole: the stored objects never change.
    // Kept while no desired document changed: a pass reads it every time, most change nothing.
    desiredSnapshot: async () => {
      const changes = b.changes('desired');
      if (desiredView?.changes === changes) return desiredView.map;
      const desired = b.doc().desired;
      if (desiredView !== undefined && changes - desiredView.changes === written.length) {
        // Every change since was one of ours: copy the view and apply them (copying a Map is a
        // fraction of building one from 20,000 entries, which a pass that sent documents paid).
        const map = new Map(desiredView.map);
        for (const id of written) {
          const doc = desired[id];
          if (doc === undefined) map.delete(id);
          else map.set(id, doc);
        }
        desiredView = { changes, map };
      } else desiredView = { changes, map: new Map(Object.entries(desired)) };
      written = [];
      return desiredView.map;
    },
    // Sync: a generation number must never be handed out twice, even across a crash.
    // Not checked on the way in: desired documents are built by the hub from checked workloads,
    // for every device on every pass (a 10,000-device fleet would pay a template parse each).
    putDesired: async (id, desired) => {
      // Checked and written in one turn of the event loop: a delete comes before or after, whole.
      if (!b.doc().devices[id]) return false;
      b.doc().desired[id] = structuredClone(desired);
      b.controlChanged('desired', id);
      // Bounded: with nobody asking for the view, the next one is built from the document.
      if (written.length < 100_000) written.push(id);
      else desiredView = undefined;
      await b.persist('sync');
      return true;
    },
    reported: async (id) => copy(b.observed().reported[id]),
    allReported: async () => new Map(Object.entries(b.observed().reported).map(([k, v]) => [k, structuredClone(v)])),
    reportedSnapshot: async () => reportedSnapshot(b),
    putReported: async (id, reported) => {
      b.observed().reported[id] = structuredClone(reported);
      reportedChanged(b, id);
      b.observedChanged('reported', id);
    },
    scan: async (visit) => {
      const { desired } = b.doc();
      const { reported } = b.observed();
      for (const id of Object.keys(desired)) visit(id, desired[id], reported[id]);
      for (const id of Object.keys(reported)) if (desired[id] === undefined) visit(id, undefined, reported[id]);
    },
  };
}
