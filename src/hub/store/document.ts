import type { DesiredState, DeviceEvent, DeviceRecord, PlacementRecord, ReportedState, TokenRecord, WorkloadRecord } from './records.js';

/**
 * The whole store as one JSON document. Bump the version and add a migration for every change
 * of an existing shape; new top-level collections need none (missing ones start empty).
 */
export const STORE_SCHEMA_VERSION = 1;

export interface StoreDocument {
  schemaVersion: number;
  devices: Record<string, DeviceRecord>;
  tokens: Record<string, TokenRecord>;
  /** Event history per subject: `device/<id>` or `workload/<name>`. */
  events: Record<string, DeviceEvent[]>;
  workloads: Record<string, WorkloadRecord>;
  placements: Record<string, PlacementRecord>;
  /** The last desired document published to each device. */
  desired: Record<string, DesiredState>;
  /** The last state each device reported. */
  reported: Record<string, ReportedState>;
}

export function emptyDocument(): StoreDocument {
  return { schemaVersion: STORE_SCHEMA_VERSION, devices: {}, tokens: {}, events: {}, workloads: {}, placements: {}, desired: {}, reported: {} };
}

type Migration = (doc: Record<string, unknown>) => Record<string, unknown>;

/** migrations[n] turns version n into n+1. */
const migrations: Record<number, Migration> = {};

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
