// PostgreSQL repositories of Jobs, CronJobs, job runs, Services, releases, rollouts, maintenance
// windows, gate verdicts and release pins, and the all-or-nothing apply of several kinds.
import { configObjectKey, releaseKey, type ConfigObjectRecord, type GateVerdict, type MaintenanceWindowRecord, type ReleasePin, type ReleaseRecord, type RolloutState, type ServiceRecord } from '../../../protocol/index.js';
import type { ApplyBatch } from '../apply-batch.js';
import { runOwnerKey, type CronJobRecord, type JobRecord, type StoredJobRun } from '../job-records.js';
import { assertStorable } from '../record-check.js';
import { mergeRun } from '../run-merge.js';
import { unchanged } from '../job-repositories.js';
import {
  ReleaseImmutableError,
  type ConfigObjectRepository,
  type CronJobRepository,
  type GateVerdictRepository,
  type JobRepository,
  type JobRunRepository,
  type MaintenanceWindowRepository,
  type ReleasePinRepository,
  type ReleaseRepository,
  type RolloutRepository,
  type ServiceRepository,
} from '../repository.js';
import type { RecordsDb, Tx } from './records-db.js';
import { kinds as coreKinds } from './pg-repositories.js';

export const controlKinds = {
  jobs: 'jobs',
  cronJobs: 'cronJobs',
  jobRuns: 'jobRuns',
  services: 'services',
  releases: 'releases',
  rollouts: 'rollouts',
  maintenanceWindows: 'maintenanceWindows',
  gateVerdicts: 'gateVerdicts',
  releasePins: 'releasePins',
  configObjects: 'configObjects',
} as const;
const k = controlKinds;

const immutable = (key: string, existing: ReleaseRecord): ReleaseImmutableError =>
  new ReleaseImmutableError(`release ${key} exists with other content (digest ${existing.digest}); releases are immutable: create a new version`);

/**
 * A named kind's get/list/putAll/delete; `alsoDelete` names the records that go with it; `fenced`:
 * writes only under the controllers' current lease term (the Jobs controller's view).
 */
function named<T extends { name: string }>(db: RecordsDb, kind: string, collection: 'jobs' | 'cronJobs', alsoDelete: (name: string) => [string, string][] = () => [], fenced = false) {
  return {
    get: async (name: string) => (await db.get(kind, name)) as T | undefined,
    list: async () => (await db.all(kind)).map(([, doc]) => doc as T),
    putAll: async (records: T[]) => {
      for (const r of records) assertStorable(collection, r.name, r);
      await db.transaction((tx) => tx.putMany(kind, records.map((r) => [r.name, r])), { fenced });
    },
    delete: (name: string) =>
      db.transaction(
        async (tx) => {
          if ((await tx.delete(kind, [name])) === 0) return false;
          for (const [otherKind, key] of alsoDelete(name)) await tx.delete(otherKind, [key]);
          return true;
        },
        { fenced },
      ),
  };
}

/**
 * Jobs are written by the API (any hub) and by the Jobs controller (assignments, finished, deleted
 * after their TTL: the leader's); `fenced` is the controller's view.
 */
export function pgJobRepository(db: RecordsDb, { fenced = false } = {}): JobRepository {
  return {
    ...named<JobRecord>(db, k.jobs, 'jobs', (name) => [[k.jobRuns, runOwnerKey('Job', name)]], fenced),
    // The rows are locked (FOR UPDATE) while compared: an API write waits, or was committed before.
    replaceUnchanged: async (changes) => {
      for (const { next } of changes) assertStorable('jobs', next.name, next);
      return db.transaction(
        async (tx) => {
          const stored = await tx.getMany(k.jobs, changes.map(({ read }) => read.name));
          const skipped = changes.filter(({ read }) => !unchanged(stored.get(read.name), read)).map(({ read }) => read.name);
          await tx.putMany(k.jobs, changes.filter(({ read }) => !skipped.includes(read.name)).map(({ next }) => [next.name, next]));
          return skipped;
        },
        { fenced },
      );
    },
    deleteUnchanged: (read) =>
      db.transaction(
        async (tx) => {
          if (!unchanged(await tx.get(k.jobs, read.name, true), read)) return false;
          await tx.delete(k.jobs, [read.name]);
          await tx.delete(k.jobRuns, [runOwnerKey('Job', read.name)]);
          return true;
        },
        { fenced },
      ),
  };
}
export const pgCronJobRepository = (db: RecordsDb): CronJobRepository => named<CronJobRecord>(db, k.cronJobs, 'cronJobs', (name) => [[k.jobRuns, runOwnerKey('CronJob', name)]]);

export function pgJobRunRepository(db: RecordsDb): JobRunRepository {
  return {
    // One transaction with each owner's list locked: two hubs receiving the same record add it once.
    add: (runs) =>
      db.transaction(async (tx) => {
        const owners = [...new Set(runs.map((r) => runOwnerKey(r.owner.kind, r.owner.name)))];
        const lists = new Map([...(await tx.getMany(k.jobRuns, owners))].map(([key, doc]) => [key, doc as StoredJobRun[]]));
        let added = 0;
        for (const run of runs) {
          const key = runOwnerKey(run.owner.kind, run.owner.name);
          const merged = mergeRun(lists.get(key) ?? [], structuredClone(run));
          if (!merged) continue;
          lists.set(key, merged);
          added += 1;
        }
        if (added > 0) await tx.putMany(k.jobRuns, [...lists]);
        return added;
      }),
    list: async (owner) => ((await db.get(k.jobRuns, owner)) as StoredJobRun[] | undefined) ?? [],
    deleteOwner: async (owner) => {
      await db.transaction((tx) => tx.delete(k.jobRuns, [owner]));
    },
  };
}

export function pgServiceRepository(db: RecordsDb): ServiceRepository {
  return {
    get: async (name) => (await db.get(k.services, name)) as ServiceRecord | undefined,
    list: async () => (await db.all(k.services)).map(([, doc]) => doc as ServiceRecord),
    delete: (name) => db.transaction(async (tx) => (await tx.delete(k.services, [name])) > 0),
  };
}

export function pgReleaseRepository(db: RecordsDb): ReleaseRepository {
  return {
    get: async (name, version) => (await db.get(k.releases, releaseKey(name, version))) as ReleaseRecord | undefined,
    list: async () => (await db.all(k.releases)).map(([, doc]) => doc as ReleaseRecord),
    create: async (release) => {
      const key = releaseKey(release.name, release.spec.version);
      assertStorable('releases', key, release);
      return db.transaction(async (tx) => {
        // Insert-or-compare in one statement's effect: two hubs creating the same release agree.
        if (await tx.insert(k.releases, key, release)) return 'created';
        const existing = (await tx.get(k.releases, key)) as ReleaseRecord;
        if (existing.digest === release.digest) return 'unchanged';
        throw immutable(key, existing);
      });
    },
  };
}

/** Rollouts are the controllers' (fenced). */
export function pgRolloutRepository(db: RecordsDb): RolloutRepository {
  const list = async (): Promise<RolloutState[]> => (await db.all(k.rollouts)).map(([, doc]) => doc as RolloutState);
  return {
    get: async (name) => (await db.get(k.rollouts, name)) as RolloutState | undefined,
    list,
    snapshot: list,
    put: async (rollout) => {
      assertStorable('rollouts', rollout.name, rollout);
      await db.transaction((tx) => tx.put(k.rollouts, rollout.name, rollout), { fenced: true });
    },
  };
}

export function pgMaintenanceWindowRepository(db: RecordsDb): MaintenanceWindowRepository {
  return {
    get: async (name) => (await db.get(k.maintenanceWindows, name)) as MaintenanceWindowRecord | undefined,
    list: async () => (await db.all(k.maintenanceWindows)).map(([, doc]) => doc as MaintenanceWindowRecord),
    put: async (window) => {
      assertStorable('maintenanceWindows', window.name, window);
      await db.transaction((tx) => tx.put(k.maintenanceWindows, window.name, window));
    },
    delete: (name) => db.transaction(async (tx) => (await tx.delete(k.maintenanceWindows, [name])) > 0),
  };
}

/** Gate verdicts are written by the rollout controller (fenced). */
export function pgGateVerdictRepository(db: RecordsDb): GateVerdictRepository {
  return {
    get: async (digest) => (await db.get(k.gateVerdicts, digest)) as GateVerdict | undefined,
    put: async (verdict) => {
      assertStorable('gateVerdicts', verdict.releaseDigest, verdict);
      await db.transaction((tx) => tx.put(k.gateVerdicts, verdict.releaseDigest, verdict), { fenced: true });
    },
  };
}

/** Release pins are the rollout controller's (fenced). */
export function pgReleasePinRepository(db: RecordsDb): ReleasePinRepository {
  const all = async (): Promise<Map<string, ReleasePin>> => new Map((await db.all(k.releasePins)) as [string, ReleasePin][]);
  return {
    all,
    // Every read is a fresh copy from the database: nothing a later set could change.
    snapshot: all,
    get: async (id) => (await db.get(k.releasePins, id)) as ReleasePin | undefined,
    set: async (ids, pin) => {
      if (pin !== null) for (const id of ids) assertStorable('releasePins', id, pin);
      await db.transaction(async (tx) => {
        if (pin === null) await tx.delete(k.releasePins, ids);
        else await tx.putMany(k.releasePins, ids.map((id) => [id, pin]));
      }, { fenced: true });
    },
  };
}

/** One `apply -f` of any kinds in one transaction: all of it is stored, or none. */
export function pgApplyDocuments(db: RecordsDb): (batch: ApplyBatch) => Promise<void> {
  return async (batch) => {
    for (const w of batch.workloads ?? []) assertStorable('workloads', w.name, w);
    for (const j of batch.jobs ?? []) assertStorable('jobs', j.name, j);
    for (const c of batch.cronJobs ?? []) assertStorable('cronJobs', c.name, c);
    for (const w of batch.maintenanceWindows ?? []) assertStorable('maintenanceWindows', w.name, w);
    for (const s of batch.services ?? []) assertStorable('services', s.name, s);
    for (const r of batch.releases ?? []) assertStorable('releases', releaseKey(r.name, r.spec.version), r);
    for (const o of batch.configObjects ?? []) assertStorable('configObjects', configObjectKey(o.kind, o.name), o);
    await db.transaction(async (tx: Tx) => {
      for (const r of batch.releases ?? []) {
        const key = releaseKey(r.name, r.spec.version);
        if (await tx.insert(k.releases, key, r)) continue;
        const existing = (await tx.get(k.releases, key)) as ReleaseRecord;
        if (existing.digest !== r.digest) throw immutable(key, existing);
      }
      await tx.putMany(coreKinds.workloads, (batch.workloads ?? []).map((w) => [w.name, w]));
      await tx.putMany(k.jobs, (batch.jobs ?? []).map((j) => [j.name, j]));
      await tx.putMany(k.cronJobs, (batch.cronJobs ?? []).map((c) => [c.name, c]));
      await tx.putMany(k.maintenanceWindows, (batch.maintenanceWindows ?? []).map((w) => [w.name, w]));
      await tx.putMany(k.services, (batch.services ?? []).map((s) => [s.name, s]));
      await tx.putMany(k.configObjects, (batch.configObjects ?? []).map((o) => [configObjectKey(o.kind, o.name), o]));
    });
  };
}

/** ConfigMaps and Secrets (issue 14): written only through pgApplyDocuments, with the apply's other kinds. */
export function pgConfigObjectRepository(db: RecordsDb): ConfigObjectRepository {
  const all = async (): Promise<ConfigObjectRecord[]> => (await db.all(k.configObjects)).map(([, doc]) => doc as ConfigObjectRecord);
  const byName = (a: ConfigObjectRecord, c: ConfigObjectRecord): number => (a.name < c.name ? -1 : a.name > c.name ? 1 : 0);
  return {
    get: async (kind, name) => (await db.get(k.configObjects, configObjectKey(kind, name))) as ConfigObjectRecord | undefined,
    list: async (kind) => (await all()).filter((o) => kind === undefined || o.kind === kind).sort(byName),
    // Every read is a fresh copy from the database, so the snapshot is one too.
    snapshot: all,
    delete: (kind, name) => db.transaction(async (tx) => (await tx.delete(k.configObjects, [configObjectKey(kind, name)])) > 0),
  };
}
