import type { StoreDocument } from './document.js';
import type { DeviceEvent } from './records.js';
import type {
  DeviceRepository,
  DeviceStateRepository,
  Durability,
  EventRepository,
  PlacementRepository,
  TokenRepository,
  WorkloadRepository,
} from './repository.js';

const EVENTS_PER_SUBJECT = 50;

/** What every lowdb repository needs: the live document and a way to persist it. */
export interface Backing {
  doc(): StoreDocument;
  persist(durability: Durability): Promise<void>;
}

/** Callers get copies: a record changed outside `update` must not change the store unseen. */
function copy<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}

export function deviceRepository(b: Backing, hardwareIndex: Map<string, string>): DeviceRepository {
  return {
    get: async (id) => copy(b.doc().devices[id]),
    findByHardwareId: async (hw) => {
      const id = hardwareIndex.get(hw);
      return id === undefined ? undefined : copy(b.doc().devices[id]);
    },
    list: async () => Object.values(b.doc().devices).map((d) => structuredClone(d)),
    count: async () => {
      const all = Object.values(b.doc().devices);
      return { total: all.length, online: all.filter((d) => d.status?.state === 'online').length };
    },
    put: async (device, durability) => {
      b.doc().devices[device.id] = structuredClone(device);
      hardwareIndex.set(device.hardwareId, device.id);
      await b.persist(durability);
    },
    update: async (id, change, durability) => {
      const device = b.doc().devices[id];
      if (!device) return undefined;
      change(device);
      await b.persist(durability);
      return structuredClone(device);
    },
  };
}

export function tokenRepository(b: Backing): TokenRepository {
  return {
    get: async (id) => copy(b.doc().tokens[id]),
    list: async () => Object.values(b.doc().tokens).map((t) => structuredClone(t)),
    put: async (token) => {
      b.doc().tokens[token.id] = structuredClone(token);
      await b.persist('sync');
    },
    update: async (id, change) => {
      const token = b.doc().tokens[id];
      if (!token) return undefined;
      change(token);
      await b.persist('sync');
      return structuredClone(token);
    },
  };
}

export function eventRepository(b: Backing): EventRepository {
  return {
    append: async (subject, event) => {
      const list = (b.doc().events[subject] ??= []);
      list.push(event);
      if (list.length > EVENTS_PER_SUBJECT) list.splice(0, list.length - EVENTS_PER_SUBJECT);
      await b.persist('lazy');
    },
    list: async (subject) => (b.doc().events[subject] ?? []).map((e: DeviceEvent) => ({ ...e })),
  };
}

export function workloadRepository(b: Backing): WorkloadRepository {
  return {
    get: async (name) => copy(b.doc().workloads[name]),
    list: async () => Object.values(b.doc().workloads).map((w) => structuredClone(w)),
    putAll: async (workloads) => {
      for (const w of workloads) b.doc().workloads[w.name] = structuredClone(w);
      await b.persist('sync');
    },
    delete: async (name) => {
      if (!b.doc().workloads[name]) return false;
      delete b.doc().workloads[name];
      delete b.doc().placements[name];
      await b.persist('sync');
      return true;
    },
  };
}

export function placementRepository(b: Backing): PlacementRepository {
  return {
    get: async (workload) => copy(b.doc().placements[workload]),
    list: async () => Object.values(b.doc().placements).map((p) => structuredClone(p)),
    put: async (placement) => {
      b.doc().placements[placement.workload] = structuredClone(placement);
      await b.persist('sync');
    },
    delete: async (workload) => {
      delete b.doc().placements[workload];
      await b.persist('sync');
    },
  };
}

export function deviceStateRepository(b: Backing): DeviceStateRepository {
  return {
    desired: async (id) => copy(b.doc().desired[id]),
    allDesired: async () => new Map(Object.entries(b.doc().desired).map(([k, v]) => [k, structuredClone(v)])),
    // Sync: a generation number must never be handed out twice, even across a crash.
    putDesired: async (id, desired) => {
      b.doc().desired[id] = structuredClone(desired);
      await b.persist('sync');
    },
    reported: async (id) => copy(b.doc().reported[id]),
    allReported: async () => new Map(Object.entries(b.doc().reported).map(([k, v]) => [k, structuredClone(v)])),
    putReported: async (id, reported) => {
      b.doc().reported[id] = structuredClone(reported);
      await b.persist('lazy');
    },
  };
}
