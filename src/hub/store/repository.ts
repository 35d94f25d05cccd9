import type { ApiTokenRepository } from './api-token-records.js';
import type { ApplyBatch } from './apply-batch.js';
import type { SharedFirmwareRepository } from './firmware-records.js';
import type { CronJobRecord, JobRecord, StoredJobRun } from './job-records.js';
import type { AuditEntry, AuditQuery, ConfigKind, ConfigObjectRecord, GateVerdict, MaintenanceWindowRecord, ReleasePin, ReleaseRecord, RolloutState, ServiceRecord } from '../../protocol/index.js';
import type { DesiredState, DeviceEvent, DeviceRecord, PlacementRecord, ReportedState, TokenRecord, WorkloadRecord } from './records.js';
import type { RolloutRequestQueue } from './rollout-requests.js';

/**
 * The hub's storage seam. lowdb backs it on one machine; a shared database can back it when
 * several hubs run against one store. Reads are async so that such a backend fits unchanged.
 *
 * Durability: `sync` writes resolve once the change is on disk (control-plane changes a user
 * was told succeeded); `lazy` writes are flushed within a second (observed state that devices
 * resend anyway after a hub restart).
 */
export type Durability = 'sync' | 'lazy';

export interface DeviceRepository {
  get(id: string): Promise<DeviceRecord | undefined>;
  /** The device's credential hash, without copying its record (checked on every MQTT connect). */
  credentialHash(id: string): Promise<string | undefined>;
  /** Whether the device exists, without copying its record (checked on every report). */
  has(id: string): Promise<boolean>;
  /**
   * Notes that the device was heard from: only `lastSeen` changes (observed state, flushed
   * lazily), without copying or comparing the record. Resolves to false for an unknown device.
   */
  touch(id: string, lastSeen: string): Promise<boolean>;
  /**
   * Changes only what the device reports (status, lastSeen; observed state, flushed lazily),
   * without copying or comparing the control record. `change` must replace values, not edit
   * them (`status = {...}`). Resolves to false for an unknown device.
   */
  observe(id: string, change: (observed: Pick<DeviceRecord, 'status' | 'lastSeen'>) => void): Promise<boolean>;
  findByHardwareId(hardwareId: string): Promise<DeviceRecord | undefined>;
  /**
   * One device as stored now, not copied (facts sent again on every reconnection are compared
   * with it): read-only, and a later write does not change what was returned.
   */
  view(id: string): Promise<Readonly<DeviceRecord> | undefined>;
  list(): Promise<DeviceRecord[]>;
  /** Counts without copying records (for stats polled often). */
  count(): Promise<{ total: number; online: number }>;
  /**
   * Every device as stored now, not copied (a fleet-wide pass would otherwise copy every
   * device's facts each time): read-only, and a later write does not change what was returned.
   */
  snapshot(): Promise<readonly Readonly<DeviceRecord>[]>;
  /**
   * Stores the whole record. A board has one record: a put of a device whose hardware id another
   * device already has is refused with HardwareIdTakenError, and nothing is stored (several hubs
   * may each register the same board at once; the one whose write came second learns it here).
   */
  put(device: DeviceRecord, durability: Durability): Promise<void>;
  /** Applies `change` to the stored record; resolves to the new record, or undefined if absent. */
  update(id: string, change: (device: DeviceRecord) => void, durability: Durability): Promise<DeviceRecord | undefined>;
  /**
   * Forgets a device: its record, desired and reported state, events, and the replicas placed on
   * it (the next placement pass puts them elsewhere). Resolves to the replicas it freed, or
   * undefined if there was no such device.
   */
  delete(id: string): Promise<{ freed: { workload: string; ordinal: string }[] } | undefined>;
}

export interface TokenRepository {
  get(id: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenRecord[]>;
  put(token: TokenRecord): Promise<void>;
  /** `lazy` lets a caller fold this change into its next sync write (a join: token use + device). */
  update(id: string, change: (token: TokenRecord) => void, durability?: Durability): Promise<TokenRecord | undefined>;
}

export interface EventRepository {
  /** Appends to a subject's bounded event history; subjects are `device/<id>` or `workload/<name>`. */
  append(subject: string, event: DeviceEvent): Promise<void>;
  list(subject: string): Promise<DeviceEvent[]>;
}

export interface WorkloadRepository {
  get(name: string): Promise<WorkloadRecord | undefined>;
  list(): Promise<WorkloadRecord[]>;
  /** Stores several workloads in one durable write: an apply of many documents is all or nothing. */
  putAll(workloads: WorkloadRecord[]): Promise<void>;
  delete(name: string): Promise<boolean>;
}

export interface PlacementRepository {
  get(workload: string): Promise<PlacementRecord | undefined>;
  list(): Promise<PlacementRecord[]>;
  /**
   * Optional: the stored records themselves, read-only and never changed in place (a store
   * replaces a record whole), so that the placement pass can tell the ones it saw before by
   * identity. Stores without it are read through `list` (every placement is then new to a pass).
   */
  snapshot?(): Promise<readonly Readonly<PlacementRecord>[]>;
  put(placement: PlacementRecord): Promise<void>;
  delete(workload: string): Promise<void>;
}

/** Per-device documents: what was sent (desired, durable) and what came back (reported, lazy). */
export interface DeviceStateRepository {
  desired(deviceId: string): Promise<DesiredState | undefined>;
  allDesired(): Promise<Map<string, DesiredState>>;
  /** Like allDesired, but the stored documents themselves: read-only, never changed in place by the store. */
  desiredSnapshot(): Promise<ReadonlyMap<string, Readonly<DesiredState>>>;
  /**
   * Stores a device's new desired document; false, storing nothing, when there is no such device
   * (deleted through the API while the pass that made the document ran: written anyway, the
   * document outlived its device, and its publication put a retained document back on the topics
   * the delete had cleared). On PostgreSQL the device's row is locked while the document is
   * written, so a delete and this write are ordered: whichever commits second sees the first.
   */
  putDesired(deviceId: string, desired: DesiredState): Promise<boolean>;
  reported(deviceId: string): Promise<ReportedState | undefined>;
  allReported(): Promise<Map<string, ReportedState>>;
  /** Like allReported, but the stored documents themselves: read-only, never changed in place by the store. */
  reportedSnapshot(): Promise<ReadonlyMap<string, Readonly<ReportedState>>>;
  putReported(deviceId: string, reported: ReportedState): Promise<void>;
  /**
   * Visits every device with a desired or reported document, without copying them (for cheap
   * fleet-wide counts); `visit` must neither keep nor change what it is given.
   */
  scan(visit: (deviceId: string, desired: Readonly<DesiredState> | undefined, reported: Readonly<ReportedState> | undefined) => void): Promise<void>;
}

export interface JobRepository {
  get(name: string): Promise<JobRecord | undefined>;
  list(): Promise<JobRecord[]>;
  /** Several in one durable write (an apply of many documents is all or nothing). */
  putAll(jobs: JobRecord[]): Promise<void>;
  delete(name: string): Promise<boolean>;
  /**
   * The Jobs controller's writes (assignments, finished): each Job is replaced only while it is
   * still exactly as the controller read it (compare-and-swap on the whole record). The API writes
   * Jobs at any hub; written unconditionally, a pass that read a Job before the API deleted or
   * re-applied it brought the deleted Job back, or put the old spec (or an older creation's uid)
   * over the new one. Resolves to the names left alone (changed or deleted meanwhile): the next
   * pass reads them again. The API's own writes stay unconditional: what they may overwrite of
   * the controller's (an assignment) is worked out again from the store by the next pass.
   */
  replaceUnchanged(changes: readonly { read: JobRecord; next: JobRecord }[]): Promise<string[]>;
  /** Deletes the Job (and its runs) only while it is still as read (the TTL after it finished); false otherwise. */
  deleteUnchanged(read: JobRecord): Promise<boolean>;
}

export interface CronJobRepository {
  get(name: string): Promise<CronJobRecord | undefined>;
  list(): Promise<CronJobRecord[]>;
  putAll(cronJobs: CronJobRecord[]): Promise<void>;
  delete(name: string): Promise<boolean>;
}

/** Run records from agents, kept durably before the hub acknowledges them. */
export interface JobRunRepository {
  /** Stores records not seen before (by device and id); resolves once they are on disk. Returns how many were new. */
  add(runs: StoredJobRun[]): Promise<number>;
  /** Runs of `Job/<name>` or `CronJob/<name>`, oldest first. */
  list(owner: string): Promise<StoredJobRun[]>;
  deleteOwner(owner: string): Promise<void>;
}

export interface HubStore extends RolloutStores {
  readonly devices: DeviceRepository;
  readonly tokens: TokenRepository;
  readonly events: EventRepository;
  readonly workloads: WorkloadRepository;
  readonly placements: PlacementRepository;
  readonly deviceState: DeviceStateRepository;
  readonly jobs: JobRepository;
  readonly cronJobs: CronJobRepository;
  readonly jobRuns: JobRunRepository;
  /** Services (issue 14); written through `applyDocuments`. */
  readonly services: ServiceRepository;
  /** ConfigMaps and Secrets (issue 14); written through `applyDocuments`. */
  readonly configObjects: ConfigObjectRepository;
  /** One `apply -f` of any kinds, in one durable write or none (see apply-batch.ts). */
  applyDocuments(batch: ApplyBatch): Promise<void>;
  /**
   * Resolves once every control-plane change made so far is durable (at once when none is
   * pending). An answer read from the store, such as "unchanged", waits for this so that it
   * never reports a change a crash could still take back.
   */
  settled(): Promise<void>;
  /** Durable commits of the control document so far (several changes share one). */
  readonly commits: number;
  /** Flushes lazy writes; the store is unusable afterwards. */
  close(): Promise<void>;
  /** Whether the backing database answers (a shared store can be down while the hub runs); absent: always. */
  health?(): StoreHealth;
  /** Present when several hubs share the store: what they must agree on lives there, not in their data folders. */
  readonly settings?: SharedSettings;
  /** People's API tokens, present when several hubs share the store (else each hub keeps a file). */
  readonly apiTokens?: ApiTokenRepository;
  /** The audit log, present when several hubs share the store (else each hub's file). */
  readonly audit?: SharedAuditRepository;
  /** Firmware images and trusted keys, present when several hubs share the store (else each hub's data folder). */
  readonly firmware?: SharedFirmwareRepository;
  /**
   * The store as the leader's controllers write it, where several hubs share it: their writes of
   * kinds every hub's API writes too (events, Jobs) are fenced by the lease term like placements.
   * Absent: one hub, the store itself (see controllerView).
   */
  forControllers?(): HubStore;
  /**
   * Present when several hubs share the store: rollouts and commands asked through a hub that
   * does not lead, waiting for the leader's controller (see rollout-requests.ts).
   */
  readonly rolloutRequests?: RolloutRequestQueue;
}

/** What the controllers write through (fenced where the store is shared). */
export function controllerView(store: HubStore): HubStore {
  return store.forControllers?.() ?? store;
}

/** Every hub's API writes, in one log (entries name their hub); an append is durable once it resolves. */
export interface SharedAuditRepository {
  append(entry: AuditEntry): Promise<void>;
  /** Oldest first, filtered; at most `limit`, the newest ones. */
  read(query: AuditQuery): Promise<AuditEntry[]>;
}

/** Hub-wide settings kept in a store several hubs share (the admin token's hash). */
export interface SharedSettings {
  /** The stored value of `key`, or `value` stored now if there was none (`created`); atomic across hubs. */
  getOrCreate(key: string, value: string): Promise<{ value: string; created: boolean }>;
}

export type StoreHealth = { ok: true } | { ok: false; reason: string };

export interface ServiceRepository {
  get(name: string): Promise<ServiceRecord | undefined>;
  list(): Promise<ServiceRecord[]>;
  delete(name: string): Promise<boolean>;
}

/**
 * ConfigMaps and Secrets (issue 14), keyed by kind and name (`ConfigMap/<name>`). The contract a
 * backend must keep:
 * - Created and changed only through `HubStore.applyDocuments` (`configObjects`), in the same
 *   durable write as the apply's other kinds: an apply that fails stores none of them.
 * - A record is stored whole, as given (its `history` of earlier versions included: the hub decides
 *   what history to keep; the store neither trims nor merges it). A Secret's values are ciphertext.
 * - `get`/`list` return copies; `snapshot` the stored records themselves, read-only (the desired pass
 *   reads every object on each pass), and a later write does not change what it returned.
 * - `delete` is one durable write of its own. Records are checked like any other (record-check.ts).
 */
export interface ConfigObjectRepository {
  get(kind: ConfigKind, name: string): Promise<ConfigObjectRecord | undefined>;
  /** By name; of one kind, or both. */
  list(kind?: ConfigKind): Promise<ConfigObjectRecord[]>;
  snapshot(): Promise<readonly Readonly<ConfigObjectRecord>[]>;
  delete(kind: ConfigKind, name: string): Promise<boolean>;
}

/** Releases are immutable: `create` of a stored name@version with other content is refused. */
export interface ReleaseRepository {
  get(name: string, version: string): Promise<ReleaseRecord | undefined>;
  list(): Promise<ReleaseRecord[]>;
  /** Stores a new release durably; the same content again is `unchanged`; other content throws ReleaseImmutableError. */
  create(release: ReleaseRecord): Promise<'created' | 'unchanged'>;
}

export interface RolloutRepository {
  get(name: string): Promise<RolloutState | undefined>;
  list(): Promise<RolloutState[]>;
  /**
   * Every rollout as stored now, not copied (a 10,000-device rollout is a large object, read on
   * every controller pass): read-only, and a later put does not change what was returned.
   */
  snapshot(): Promise<readonly Readonly<RolloutState>[]>;
  /** One transition per call, durable before it resolves (a killed hub resumes from here). */
  put(rollout: RolloutState): Promise<void>;
}

export interface MaintenanceWindowRepository {
  list(): Promise<MaintenanceWindowRecord[]>;
  get(name: string): Promise<MaintenanceWindowRecord | undefined>;
  put(window: MaintenanceWindowRecord): Promise<void>;
  delete(name: string): Promise<boolean>;
}

export interface GateVerdictRepository {
  get(digest: string): Promise<GateVerdict | undefined>;
  put(verdict: GateVerdict): Promise<void>;
}

/** Which release a rollout pinned each device to. */
export interface ReleasePinRepository {
  all(): Promise<Map<string, ReleasePin>>;
  /**
   * Every pin as stored now, not copied (read by every rollout and desired-state pass; at 10,000
   * pinned devices copying them was a tenth of a rollout's hub CPU): read-only, and a later set
   * does not change what was returned. A backend may return a fresh map each time.
   */
  snapshot(): Promise<ReadonlyMap<string, Readonly<ReleasePin>>>;
  get(deviceId: string): Promise<ReleasePin | undefined>;
  /** Pins (or with null unpins) these devices in one durable write; idempotent. */
  set(deviceIds: readonly string[], pin: ReleasePin | null): Promise<void>;
}

/** The repositories of releases and rollouts (kept apart from HubStore's core ones). */
export interface RolloutStores {
  readonly releases: ReleaseRepository;
  readonly rollouts: RolloutRepository;
  readonly maintenanceWindows: MaintenanceWindowRepository;
  readonly gateVerdicts: GateVerdictRepository;
  readonly releasePins: ReleasePinRepository;
}

/** A device put whose hardware id belongs to another device (see DeviceRepository.put). */
export class HardwareIdTakenError extends Error {
  readonly code = 'HardwareIdTaken';
  constructor(
    readonly hardwareId: string,
    /** The device that has it, when the store can tell. */
    readonly ownerId: string | undefined,
  ) {
    super(`hardware id ${hardwareId} already belongs to ${ownerId === undefined ? 'another device' : `device ${ownerId}`}`);
  }
}

export class ReleaseImmutableError extends Error {
  readonly code = 'ReleaseImmutable';
}
