import { cronJobRepository, jobRepository, jobRunRepository } from './job-repositories.js';
import type { CronJobRepository, JobRepository, JobRunRepository } from './repository.js';
import { Low, type Adapter } from 'lowdb';
import { join } from 'node:path';
import { CoalescingWriter, ensureDir, nodeDurableFileSystem, type DurableFileSystem } from '../../common/durable-file.js';
import { ShardedControlFile, type ControlCommit } from './sharded-control.js';
import { GroupCommit } from './group-commit.js';
import { emptyDocument, emptyObserved, migrateDocument, type ObservedDocument, type StoreDocument } from './document.js';
import { checkedControlDocument } from './record-check.js';
import { keepAside, ObservedJournal } from './observed-journal.js';
import {
  deviceRepository,
  deviceStateRepository,
  eventRepository,
  placementRepository,
  tokenRepository,
  workloadRepository,
  type Backing,
} from './lowdb-repositories.js';
import { rolloutStores } from './rollout-repositories.js';
import { serviceRepository } from './service-repositories.js';
import { adoptLegacyConfigFile, configObjectRepository } from './config-object-repositories.js';
import { applyBatchWriter, type ApplyBatch } from './apply-batch.js';
import type {
  GateVerdictRepository,
  MaintenanceWindowRepository,
  ReleasePinRepository,
  ReleaseRepository,
  RolloutRepository,
  ServiceRepository,
  ConfigObjectRepository,
  DeviceRepository,
  DeviceStateRepository,
  Durability,
  EventRepository,
  HubStore,
  PlacementRepository,
  TokenRepository,
  WorkloadRepository,
} from './repository.js';
import { errorMessage } from '../../common/errors.js';

const LAZY_FLUSH_MS = 1000;
/**
 * Observed state is flushed lazily (observed-journal.ts: the changed records appended, now and
 * then a whole new snapshot): at most this share of the time goes to it (a 500 ms snapshot → the
 * next flush 5 s later at most). It is rebuilt by the devices if lost, so a later flush costs
 * nothing but a staler file after a crash.
 */
const OBSERVED_WRITE_SHARE = 0.1;

/** lowdb adapter of the control document: store.json plus the fleet's shard files (sharded-control.ts). */
class DurableJsonAdapter implements Adapter<StoreDocument> {
  readonly file: ShardedControlFile;

  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void,
    fs: DurableFileSystem,
  ) {
    this.file = new ShardedControlFile(path, fs);
  }

  async read(): Promise<StoreDocument | null> {
    const raw = await this.file.read();
    if (raw === undefined) return null;
    const { doc, skipped } = checkedControlDocument(migrateDocument(raw, this.path), this.path, (collection, key) => this.file.vouched(collection, key));
    await keepAside(this.path, skipped, this.warn);
    this.file.adopt(doc);
    // Records left out must leave the files too (they are kept aside above).
    if (skipped.length > 0) this.file.markAll();
    return doc;
  }

  async write(): Promise<void> {
    throw new Error('the control document is written by group commits only');
  }
}

export interface LowdbStoreOptions {
  /** The file operations of durable writes of store.json (tests record and delay them). */
  fs?: DurableFileSystem;
}

export async function openLowdbStore(dataDir: string, warn: (message: string) => void = (m) => console.warn(m), options: LowdbStoreOptions = {}): Promise<HubStore> {
  await ensureDir(dataDir);
  const control = new DurableJsonAdapter(join(dataDir, 'store.json'), warn, options.fs ?? nodeDurableFileSystem);
  const db = new Low<StoreDocument>(control, emptyDocument());
  const journal = new ObservedJournal(join(dataDir, 'observed.json'), warn);
  const observed = new Low<ObservedDocument>(journal, emptyObserved());
  await db.read();
  await observed.read();
  const store = new LowdbStore(db, observed, control, journal);
  // ConfigMaps and Secrets lived in their own file before they joined the store (session 4).
  await adoptLegacyConfigFile(dataDir, store.backing, warn);
  return store;
}

/**
 * The whole store is one JSON document in memory. A change is made to the document at once
 * (synchronously, so one request's change is never split between two commits) and its caller
 * waits for the group commit that writes it (group-commit.ts).
 */
class LowdbStore implements HubStore {
  readonly devices: DeviceRepository;
  readonly tokens: TokenRepository;
  readonly events: EventRepository;
  readonly workloads: WorkloadRepository;
  readonly placements: PlacementRepository;
  readonly deviceState: DeviceStateRepository;
  readonly jobs: JobRepository;
  readonly cronJobs: CronJobRepository;
  readonly jobRuns: JobRunRepository;
  readonly applyDocuments: (batch: ApplyBatch) => Promise<void>;
  readonly releases: ReleaseRepository;
  readonly rollouts: RolloutRepository;
  readonly maintenanceWindows: MaintenanceWindowRepository;
  readonly gateVerdicts: GateVerdictRepository;
  readonly releasePins: ReleasePinRepository;
  readonly services: ServiceRepository;
  readonly configObjects: ConfigObjectRepository;
  readonly backing: Backing;
  private readonly writer: GroupCommit<ControlCommit>;
  private readonly observedWriter: CoalescingWriter;
  private lazyTimer: NodeJS.Timeout | undefined;
  private observedDirty = false;
  private lastObservedWriteMs = 0;
  private closed = false;

  constructor(
    private readonly db: Low<StoreDocument>,
    private readonly observed: Low<ObservedDocument>,
    control: DurableJsonAdapter,
    journal: ObservedJournal,
  ) {
    // Back-to-back commits at most every 25 ms, serializing at most a quarter of the time, so a
    // registration storm writes the control document a bounded number of times per second
    // whatever the number of joins in flight (each join waits at most one interval more).
    this.writer = new GroupCommit(
      // Only the shards that changed, plus store.json (everything but the fleet-sized collections).
      { snapshot: () => control.file.snapshot(this.doc), persist: (contents) => control.file.persist(contents) },
      { minIntervalMs: 25, dutyCycle: 0.25 },
    );
    this.observedWriter = new CoalescingWriter(() => observed.write());
    const hardwareIndex = new Map<string, string>();
    for (const device of Object.values(db.data.devices)) hardwareIndex.set(device.hardwareId, device.id);
    const changes = { devices: 0, desired: 0, releasePins: 0, rolloutDevices: 0 };
    const backing: Backing = {
      doc: () => this.doc,
      observed: () => this.observedDoc,
      persist: (d) => this.persist(d),
      controlChanged: (collection, key) => {
        changes[collection] += 1;
        control.file.changed(collection, key);
      },
      changes: (collection) => changes[collection],
      observedChanged: (collection, key) => {
        journal.changed(collection, key);
        this.observedDirty = true;
        this.scheduleLazyFlush();
      },
    };
    this.devices = deviceRepository(backing, hardwareIndex);
    this.tokens = tokenRepository(backing);
    this.events = eventRepository(backing);
    this.workloads = workloadRepository(backing);
    this.placements = placementRepository(backing);
    this.deviceState = deviceStateRepository(backing);
    this.jobs = jobRepository(backing);
    this.cronJobs = cronJobRepository(backing);
    this.jobRuns = jobRunRepository(backing);
    this.applyDocuments = applyBatchWriter(backing);
    const rollouts = rolloutStores(backing);
    this.releases = rollouts.releases;
    this.rollouts = rollouts.rollouts;
    this.maintenanceWindows = rollouts.maintenanceWindows;
    this.gateVerdicts = rollouts.gateVerdicts;
    this.releasePins = rollouts.releasePins;
    this.services = serviceRepository(backing);
    this.configObjects = configObjectRepository(backing);
    this.backing = backing;
  }

  private get doc(): StoreDocument {
    if (this.closed) throw new Error('store is closed');
    return this.db.data;
  }

  private get observedDoc(): ObservedDocument {
    if (this.closed) throw new Error('store is closed');
    return this.observed.data;
  }

  private persist(durability: Durability): Promise<void> {
    if (durability === 'sync') return this.writer.commit();
    this.writer.changedLazily();
    this.scheduleLazyFlush();
    return Promise.resolve();
  }

  settled(): Promise<void> {
    return this.writer.settled();
  }

  get commits(): number {
    return this.writer.commits;
  }

  private scheduleLazyFlush(): void {
    const delay = Math.max(LAZY_FLUSH_MS, this.lastObservedWriteMs / OBSERVED_WRITE_SHARE);
    this.lazyTimer ??= setTimeout(() => {
      this.lazyTimer = undefined;
      this.flushLazy().catch((err: unknown) => console.error(`store: lazy flush failed: ${errorMessage(err)}`));
    }, delay);
  }

  private async flushLazy(): Promise<void> {
    const writes: Promise<void>[] = [this.writer.settled()];
    if (this.observedDirty) {
      this.observedDirty = false;
      const started = performance.now();
      writes.push(this.observedWriter.write().then(() => void (this.lastObservedWriteMs = performance.now() - started)));
    }
    await Promise.all(writes);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    await this.flushLazy();
    await Promise.all([this.writer.idle(), this.observedWriter.idle()]);
    this.closed = true;
  }
}
