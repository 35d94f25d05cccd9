import { Low, type Adapter } from 'lowdb';
import { join } from 'node:path';
import { CoalescingWriter, ensureDir, readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { emptyDocument, migrateDocument, type StoreDocument } from './document.js';
import {
  deviceRepository,
  deviceStateRepository,
  eventRepository,
  placementRepository,
  tokenRepository,
  workloadRepository,
  type Backing,
} from './lowdb-repositories.js';
import type {
  DeviceRepository,
  DeviceStateRepository,
  Durability,
  EventRepository,
  HubStore,
  PlacementRepository,
  TokenRepository,
  WorkloadRepository,
} from './repository.js';

const LAZY_FLUSH_MS = 1000;

/** lowdb adapter whose writes survive power loss (see writeFileDurably). */
class DurableJsonAdapter implements Adapter<StoreDocument> {
  constructor(private readonly path: string) {}

  async read(): Promise<StoreDocument | null> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) return null;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      // Never overwrite a store we cannot read: the operator must look at it.
      throw new Error(`${this.path}: store file is not valid JSON (${(err as Error).message}); refusing to start over it`);
    }
    return migrateDocument(raw, this.path);
  }

  async write(data: StoreDocument): Promise<void> {
    await writeFileDurably(this.path, JSON.stringify(data));
  }
}

export async function openLowdbStore(dataDir: string): Promise<HubStore> {
  await ensureDir(dataDir);
  const db = new Low<StoreDocument>(new DurableJsonAdapter(join(dataDir, 'store.json')), emptyDocument());
  await db.read();
  return new LowdbStore(db);
}

/** The whole store is one JSON document in memory; writes of a burst are coalesced. */
class LowdbStore implements HubStore {
  readonly devices: DeviceRepository;
  readonly tokens: TokenRepository;
  readonly events: EventRepository;
  readonly workloads: WorkloadRepository;
  readonly placements: PlacementRepository;
  readonly deviceState: DeviceStateRepository;
  private readonly writer: CoalescingWriter;
  private lazyTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly db: Low<StoreDocument>) {
    this.writer = new CoalescingWriter(() => db.write());
    const hardwareIndex = new Map<string, string>();
    for (const device of Object.values(db.data.devices)) hardwareIndex.set(device.hardwareId, device.id);
    const backing: Backing = { doc: () => this.doc, persist: (d) => this.persist(d) };
    this.devices = deviceRepository(backing, hardwareIndex);
    this.tokens = tokenRepository(backing);
    this.events = eventRepository(backing);
    this.workloads = workloadRepository(backing);
    this.placements = placementRepository(backing);
    this.deviceState = deviceStateRepository(backing);
  }

  private get doc(): StoreDocument {
    if (this.closed) throw new Error('store is closed');
    return this.db.data;
  }

  private persist(durability: Durability): Promise<void> {
    if (durability === 'sync') return this.writer.write();
    this.lazyTimer ??= setTimeout(() => {
      this.lazyTimer = undefined;
      this.writer.write().catch((err: unknown) => console.error(`store: lazy flush failed: ${(err as Error).message}`));
    }, LAZY_FLUSH_MS);
    return Promise.resolve();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.lazyTimer) {
      clearTimeout(this.lazyTimer);
      this.lazyTimer = undefined;
      await this.writer.write();
    }
    await this.writer.idle();
    this.closed = true;
  }
}
