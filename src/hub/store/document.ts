import type { CronJobRecord, JobRecord, StoredJobRun } from './job-records.js';
import type { ConfigObjectRecord, GateVerdict, MaintenanceWindowRecord, ReleasePin, ReleaseRecord, RolloutState, ServiceRecord } from '../../protocol/index.js';
import type { DesiredState, DeviceEvent, DeviceRecord, PlacementRecord, ReportedState, TokenRecord, WorkloadRecord } from './records.js';

/**
 * The store is two JSON documents. `store.json` holds what operators and the control plane
 * decided (devices' identities and labels, tokens, workloads, placements, desired states): it
 * is small and written durably before anyone is told a change happened. `observed.json` holds
 * what devices report (status, facts, reported state, events): large, frequent, flushed lazily,
 * and rebuilt by the devices themselves if lost. A registration storm then writes kilobytes per
 * device, not the facts of the whole fleet.
 *
 * Bump the version and add a migration for every change of an existing shape; new top-level
 * collections need none (missing ones start empty).
 */
export const STORE_SCHEMA_VERSION = 5;

export const observedFields = ['status', 'lastSeen', 'facts'] as const;
export type StoredDevice = Omit<DeviceRecord, (typeof observedFields)[number]>;
export type ObservedDevice = Pick<DeviceRecord, (typeof observedFields)[number]>;

/** Splits a record into its two documents' parts (control, observed). The parts share objects with `device`. */
export function splitDevice(device: DeviceRecord): { stored: StoredDevice; observed: ObservedDevice } {
  const stored: Record<string, unknown> = { ...device };
  const observed: Record<string, unknown> = {};
  for (const field of observedFields) {
    if (device[field] !== undefined) observed[field] = device[field];
    delete stored[field];
  }
  return { stored: stored as StoredDevice, observed: observed as ObservedDevice };
}

export interface StoreDocument {
  schemaVersion: number;
  devices: Record<string, StoredDevice>;
  tokens: Record<string, TokenRecord>;
  workloads: Record<string, WorkloadRecord>;
  placements: Record<string, PlacementRecord>;
  /** The last desired document published to each device. */
  desired: Record<string, DesiredState>;
  jobs: Record<string, JobRecord>;
  cronJobs: Record<string, CronJobRecord>;
  /** Run records agents sent, per owner (`Job/<name>`, `CronJob/<name>`): durable, since the hub acknowledges them. */
  jobRuns: Record<string, StoredJobRun[]>;
  /** Releases by `name@version` (immutable). */
  releases: Record<string, ReleaseRecord>;
  /** Rollouts with their state machine's status, written once per transition. */
  rollouts: Record<string, RolloutState>;
  maintenanceWindows: Record<string, MaintenanceWindowRecord>;
  /** HIL gate verdicts by release digest. */
  gateVerdicts: Record<string, GateVerdict>;
  /** Which release a rollout pinned each device to (absent: the workloads' own templates). */
  releasePins: Record<string, ReleasePin>;
  /** Services by name (issue 14). */
  services: Record<string, ServiceRecord>;
  /** ConfigMaps and Secrets by `ConfigMap/<name>`, `Secret/<name>` (issue 14; Secrets as ciphertext). */
  configObjects: Record<string, ConfigObjectRecord>;
}

export interface ObservedDocument {
  devices: Record<string, ObservedDevice>;
  /** The last state each device reported. */
  reported: Record<string, ReportedState>;
  /** Event history per subject: `device/<id>` or `workload/<name>`. */
  events: Record<string, DeviceEvent[]>;
}

/**
 * Every collection keyed by an id or a name is a null-prototype object: a key such as
 * `constructor` or `__proto__` then finds nothing instead of Object.prototype's members (which
 * once answered a lookup of workload `constructor` with a function, and let a write under
 * `__proto__` land as `devices["undefined"]`). JSON.stringify writes them like any object.
 */
export function dictionary<T>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const out = Object.create(null) as Record<string, T>;
  for (const [key, value] of entries) out[key] = value;
  return out;
}

export function emptyDocument(): StoreDocument {
  return {
    schemaVersion: STORE_SCHEMA_VERSION,
    devices: dictionary(),
    tokens: dictionary(),
    workloads: dictionary(),
    placements: dictionary(),
    desired: dictionary(),
    jobs: dictionary(),
    cronJobs: dictionary(),
    jobRuns: dictionary(),
    releases: dictionary(),
    rollouts: dictionary(),
    maintenanceWindows: dictionary(),
    gateVerdicts: dictionary(),
    releasePins: dictionary(),
    services: dictionary(),
    configObjects: dictionary(),
  };
}

export function emptyObserved(): ObservedDocument {
  return { devices: dictionary(), reported: dictionary(), events: dictionary() };
}

type Migration = (doc: Record<string, unknown>) => Record<string, unknown>;
type Json = Record<string, unknown>;

/** v2 kept `cpu` (already millicores) and `memory` (bytes) under the manifest's names. */
function renameQuantities(template: unknown): void {
  const resources = (template as Json | undefined)?.['resources'] as Json | undefined;
  for (const list of [resources?.['requests'], resources?.['limits']] as (Json | undefined)[]) {
    if (!list) continue;
    if ('cpu' in list) list['cpuMillis'] = list['cpu'];
    if ('memory' in list) list['memoryBytes'] = list['memory'];
    delete list['cpu'];
    delete list['memory'];
  }
}

/** migrations[n] turns version n into n+1. */
const migrations: Record<number, Migration> = {
  // 1 → 2: observed state moves to observed.json. It is not carried over: devices send their
  // status and facts again when they reconnect; v1's event history is dropped.
  1: (doc) => {
    const devices = (doc['devices'] ?? {}) as Record<string, Record<string, unknown>>;
    for (const device of Object.values(devices)) for (const field of observedFields) delete device[field];
    const { events: _events, reported: _reported, ...rest } = doc;
    return rest;
  },
  // 2 → 3: resources in canonical units named for them (`cpuMillis`, `memoryBytes`). Stored
  // revisions stay, so no device restarts anything for the rename.
  2: (doc) => {
    for (const workload of Object.values((doc['workloads'] ?? {}) as Record<string, Json>)) renameQuantities((workload['spec'] as Json | undefined)?.['template']);
    for (const desired of Object.values((doc['desired'] ?? {}) as Record<string, Json>)) {
      for (const instance of (desired['instances'] ?? []) as Json[]) renameQuantities(instance['template']);
    }
    return doc;
  },
  // 3 → 4: `devices` and `desired` move out of store.json into shard files (sharded-control.ts).
  // The document is the same; the version keeps an older hub, which would not find the shards,
  // from starting over a store it would see as empty.
  3: (doc) => doc,
  // 4 → 5: release pins and each rollout's per-device state move into shard files too. The same
  // document again; the version keeps an older hub from reading rollouts without their devices.
  4: (doc) => doc,
};

export class StoreVersionError extends Error {}

/** Brings a document read from disk to the current version, or says why it cannot. */
export function migrateDocument(raw: unknown, source: string): StoreDocument {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new StoreVersionError(`${source}: not a store document (expected a JSON object)`);
  }
  let doc = raw as Record<string, unknown>;
  let version = doc['schemaVersion'];
  if (typeof version !== 'number' || !Number.isInteger(version)) {
    throw new StoreVersionError(`${source}: schemaVersion is missing or not an integer`);
  }
  if (version > STORE_SCHEMA_VERSION) {
    throw new StoreVersionError(
      `${source}: written by a newer edgepilot (schema ${version}); this hub understands up to ${STORE_SCHEMA_VERSION}`,
    );
  }
  while (version < STORE_SCHEMA_VERSION) {
    const migrate = migrations[version];
    if (!migrate) throw new StoreVersionError(`${source}: no migration from schema ${version}`);
    doc = migrate(doc);
    version += 1;
    doc['schemaVersion'] = version;
  }
  return { ...emptyDocument(), ...(doc as Partial<StoreDocument>), schemaVersion: STORE_SCHEMA_VERSION };
}

export const controlCollections = ['devices', 'tokens', 'workloads', 'placements', 'desired', 'jobs', 'cronJobs', 'jobRuns', 'releases', 'rollouts', 'maintenanceWindows', 'gateVerdicts', 'releasePins', 'services', 'configObjects'] as const;
export const observedCollections = ['devices', 'reported', 'events'] as const;
