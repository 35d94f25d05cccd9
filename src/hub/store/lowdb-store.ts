import { Low, type Adapter } from 'lowdb';
import { join } from 'node:path';
import { CoalescingWriter, ensureDir, readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { emptyDocument, migrateDocument, type StoreDocument } from './document.js';
import type { DeviceRecord, DeviceEvent, TokenRecord } from './records.js';
import type { DeviceRepository, Durability, EventRepository, HubStore, TokenRepository } from './repository.js';

const EVENTS_PER_DEVICE = 50;
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

class LowdbStore implements HubStore {
  readonly devices: DeviceRepository;
  readonly tokens: TokenRepository;
  readonly events: EventRepository;
  private readonly writer: CoalescingWriter;
  private readonly hardwareIndex = new Map<string, string>();
  private lazyTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly db: Low<StoreDocument>) {
    this.writer = new CoalescingWriter(() => db.write());
    for (const device of Object.values(db.data.devices)) this.hardwareIndex.set(device.hardwareId, device.id);
    this.devices = {
      get: async (id) => clone(this.doc.devices[id]),
      findByHardwareId: async (hw) => {
        const id = this.hardwareIndex.get(hw);
        return id === undefined ? undefined : clone(this.doc.devices[id]);
      },
      list: async () => Object.values(this.doc.devices).map((d) => structuredClone(d)),
      count: async () => {
        const all = Object.values(this.doc.devices);
        return { total: all.length, online: all.filter((d) => d.status?.state === 'online').length };
      },
      put: async (device, durability) => {
        this.doc.devices[device.id] = structuredClone(device);
        this.hardwareIndex.set(device.hardwareId, device.id);
        await this.persist(durability);
      },
      update: async (id, change, durability) => this.updateDevice(id, change, durability),
    };
    this.tokens = {
      get: async (id) => clone(this.doc.tokens[id]),
      list: async () => Object.values(this.doc.tokens).map((t) => structuredClone(t)),
      put: async (token) => {
        this.doc.tokens[token.id] = structuredClone(token);
        await this.persist('sync');
      },
      update: async (id, change) => {
        const token = this.doc.tokens[id];
        if (!token) return undefined;
        change(token);
        await this.persist('sync');
        return structuredClone(token);
      },
    };
    this.events = {
      append: async (deviceId, event) => {
        const list = (this.doc.events[deviceId] ??= []);
        list.push(event);
        if (list.length > EVENTS_PER_DEVICE) list.splice(0, list.length - EVENTS_PER_DEVICE);
        await this.persist('lazy');
      },
      list: async (deviceId) => (this.doc.events[deviceId] ?? []).map((e: DeviceEvent) => ({ ...e })),
    };
  }

  private get doc(): StoreDocument {
    if (this.closed) throw new Error('store is closed');
    return this.db.data;
  }

  private async updateDevice(
    id: string,
    change: (device: DeviceRecord) => void,
    durability: Durability,
  ): Promise<DeviceRecord | undefined> {
    const device = this.doc.devices[id];
    if (!device) return undefined;
    change(device);
    await this.persist(durability);
    return structuredClone(device);
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

function clone<T>(value: T | undefined): T | undefined {
  return value === undefined ? undefined : structuredClone(value);
}

export type { TokenRecord };
