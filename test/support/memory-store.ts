// In-memory repositories of the hub's store (src/hub/store/repository.ts) for unit tests: the
// same copy-on-read/write contract as the lowdb store, every write logged with its durability, and
// anything a test did not set up fails loudly instead of returning a silent default.
import type { ConfigObjectRepository, DeviceRepository, DeviceStateRepository, Durability, EventRepository, HubStore, PlacementRepository, TokenRepository, WorkloadRepository } from '../../src/hub/store/repository.js';
import type { ApplyBatch } from '../../src/hub/store/apply-batch.js';
import { configObjectKey, type ConfigObjectRecord } from '../../src/protocol/index.js';
import type { DesiredState, DeviceEvent, DeviceRecord, PlacementRecord, ReportedState, TokenRecord, WorkloadRecord } from '../../src/hub/store/records.js';

/** One write, in order: which collection, which key, how durable. */
export interface WriteLog {
  collection: string;
  key: string;
  durability: Durability;
}

const copy = <T>(value: T): T => structuredClone(value);

export class MemoryStore {
  readonly devices = new Map<string, DeviceRecord>();
  readonly tokens = new Map<string, TokenRecord>();
  readonly events = new Map<string, DeviceEvent[]>();
  readonly workloads = new Map<string, WorkloadRecord>();
  readonly placements = new Map<string, PlacementRecord>();
  readonly desired = new Map<string, DesiredState>();
  readonly reported = new Map<string, ReportedState>();
  /** ConfigMaps and Secrets by `ConfigMap/<name>`, `Secret/<name>`. */
  readonly configObjects = new Map<string, ConfigObjectRecord>();
  readonly writes: WriteLog[] = [];
  /** Called before every write; a test may throw here to make the store fail. */
  beforeWrite: (write: WriteLog) => void = () => undefined;

  private write(collection: string, key: string, durability: Durability): void {
    const entry = { collection, key, durability };
    this.beforeWrite(entry);
    this.writes.push(entry);
  }

  deviceRepository(): DeviceRepository {
    return {
      get: async (id) => (this.devices.has(id) ? copy(this.devices.get(id)) : undefined),
      has: async (id) => this.devices.has(id),
      credentialHash: async (id) => this.devices.get(id)?.credentialHash,
      observe: async (id, change) => {
        const current = this.devices.get(id);
        if (!current) return false;
        const draft = { status: current.status, lastSeen: current.lastSeen };
        change(draft);
        this.write('devices', id, 'lazy');
        const next: DeviceRecord = { ...current };
        if (draft.status === undefined) delete next.status;
        else next.status = draft.status;
        if (draft.lastSeen === undefined) delete next.lastSeen;
        else next.lastSeen = draft.lastSeen;
        this.devices.set(id, copy(next));
        return true;
      },
      touch: async (id, lastSeen) => {
        const current = this.devices.get(id);
        if (!current) return false;
        this.write('devices', id, 'lazy');
        this.devices.set(id, { ...current, lastSeen });
        return true;
      },
      // Every write replaces the map's entry whole: the entry itself is a stable read-only view.
      view: async (id) => this.devices.get(id),
      findByHardwareId: async (hw) => copy([...this.devices.values()].find((d) => d.hardwareId === hw)),
      list: async () => [...this.devices.values()].map(copy),
      snapshot: async () => [...this.devices.values()],
      count: async () => ({ total: this.devices.size, online: [...this.devices.values()].filter((d) => d.status?.state === 'online').length }),
      put: async (device, durability) => {
        this.write('devices', device.id, durability);
        this.devices.set(device.id, copy(device));
      },
      update: async (id, change, durability) => {
        const current = this.devices.get(id);
        if (!current) return undefined;
        const draft = copy(current);
        change(draft);
        this.write('devices', id, durability);
        this.devices.set(id, copy(draft));
        return draft;
      },
      delete: async () => {
        throw new Error('MemoryStore: devices.delete is not set up');
      },
    };
  }

  tokenRepository(): TokenRepository {
    return {
      get: async (id) => copy(this.tokens.get(id)),
      list: async () => [...this.tokens.values()].map(copy),
      put: async (token) => {
        this.write('tokens', token.id, 'sync');
        this.tokens.set(token.id, copy(token));
      },
      update: async (id, change, durability = 'sync') => {
        const current = this.tokens.get(id);
        if (!current) return undefined;
        const draft = copy(current);
        change(draft);
        this.write('tokens', id, durability);
        this.tokens.set(id, copy(draft));
        return copy(draft);
      },
    };
  }

  eventRepository(): EventRepository {
    return {
      append: async (subject, event) => {
        this.events.set(subject, [...(this.events.get(subject) ?? []), copy(event)]);
      },
      list: async (subject) => copy(this.events.get(subject) ?? []),
    };
  }

  workloadRepository(): WorkloadRepository {
    return {
      get: async (name) => copy(this.workloads.get(name)),
      list: async () => [...this.workloads.values()].map(copy),
      putAll: async (workloads) => {
        for (const w of workloads) {
          this.write('workloads', w.name, 'sync');
          this.workloads.set(w.name, copy(w));
        }
      },
      delete: async (name) => {
        this.write('workloads', name, 'sync');
        return this.workloads.delete(name);
      },
    };
  }

  placementRepository(): PlacementRepository {
    return {
      get: async (workload) => copy(this.placements.get(workload)),
      list: async () => [...this.placements.values()].map(copy),
      put: async (placement) => {
        this.write('placements', placement.workload, 'sync');
        this.placements.set(placement.workload, copy(placement));
      },
      delete: async (workload) => {
        this.write('placements', workload, 'sync');
        this.placements.delete(workload);
      },
    };
  }

  deviceStateRepository(): DeviceStateRepository {
    return {
      desired: async (id) => copy(this.desired.get(id)),
      allDesired: async () => new Map([...this.desired].map(([k, v]) => [k, copy(v)])),
      desiredSnapshot: async () => new Map(this.desired),
      putDesired: async (id, desired) => {
        if (!this.devices.has(id)) return false;
        this.write('desired', id, 'sync');
        this.desired.set(id, copy(desired));
        return true;
      },
      reported: async (id) => copy(this.reported.get(id)),
      allReported: async () => new Map([...this.reported].map(([k, v]) => [k, copy(v)])),
      reportedSnapshot: async () => new Map(this.reported),
      putReported: async (id, reported) => {
        this.write('reported', id, 'lazy');
        this.reported.set(id, copy(reported));
      },
      scan: async (visit) => {
        for (const [id, d] of this.desired) visit(id, d, this.reported.get(id));
        for (const [id, r] of this.reported) if (!this.desired.has(id)) visit(id, undefined, r);
      },
    };
  }

  configObjectRepository(): ConfigObjectRepository {
    return {
      get: async (kind, name) => copy(this.configObjects.get(configObjectKey(kind, name))),
      list: async (kind) =>
        [...this.configObjects.values()]
          .filter((o) => kind === undefined || o.kind === kind)
          .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
          .map(copy),
      snapshot: async () => [...this.configObjects.values()],
      delete: async (kind, name) => {
        this.write('configObjects', configObjectKey(kind, name), 'sync');
        return this.configObjects.delete(configObjectKey(kind, name));
      },
    };
  }

  /**
   * `applyDocuments` for the kinds this store keeps (Workloads, ConfigMaps, Secrets), all or
   * nothing like the real one: every write is announced to `beforeWrite` (which may throw) before
   * any record changes. Other kinds in the batch fail loudly.
   */
  async applyDocuments(batch: ApplyBatch): Promise<void> {
    const { workloads = [], configObjects = [], ...rest } = batch;
    const other = Object.entries(rest).filter(([, list]) => (list as readonly unknown[] | undefined)?.length);
    if (other.length > 0) throw new Error(`MemoryStore: applyDocuments of ${other.map(([k]) => k).join(', ')} is not set up`);
    const entries = [
      ...workloads.map((w) => ({ collection: 'workloads', key: w.name, durability: 'sync' as const })),
      ...configObjects.map((o) => ({ collection: 'configObjects', key: configObjectKey(o.kind, o.name), durability: 'sync' as const })),
    ];
    for (const e of entries) this.beforeWrite(e);
    this.writes.push(...entries);
    for (const w of workloads) this.workloads.set(w.name, copy(w));
    for (const o of configObjects) this.configObjects.set(configObjectKey(o.kind, o.name), copy(o));
  }

  /**
   * A HubStore with the repositories above; every other member (rollouts, jobs, …) throws when
   * touched, unless given in `extra` (e.g. `releasePins: { snapshot: async () => new Map() }`).
   */
  hubStore(extra: Record<string, unknown> = {}): HubStore {
    const parts: Record<string, unknown> = {
      devices: this.deviceRepository(),
      tokens: this.tokenRepository(),
      events: this.eventRepository(),
      workloads: this.workloadRepository(),
      placements: this.placementRepository(),
      deviceState: this.deviceStateRepository(),
      configObjects: this.configObjectRepository(),
      applyDocuments: (batch: ApplyBatch) => this.applyDocuments(batch),
      settled: async () => undefined,
      ...extra,
    };
    return new Proxy(parts, {
      get(target, key) {
        if (typeof key === 'symbol' || key === 'then') return undefined;
        if (!(key in target)) throw new Error(`MemoryStore: store.${key} is not set up in this test`);
        return target[key];
      },
    }) as unknown as HubStore;
  }
}
