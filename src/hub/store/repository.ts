import type { DeviceEvent, DeviceRecord, TokenRecord } from './records.js';

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
  findByHardwareId(hardwareId: string): Promise<DeviceRecord | undefined>;
  list(): Promise<DeviceRecord[]>;
  /** Counts without copying records (for stats polled often). */
  count(): Promise<{ total: number; online: number }>;
  put(device: DeviceRecord, durability: Durability): Promise<void>;
  /** Applies `change` to the stored record; resolves to the new record, or undefined if absent. */
  update(id: string, change: (device: DeviceRecord) => void, durability: Durability): Promise<DeviceRecord | undefined>;
}

export interface TokenRepository {
  get(id: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenRecord[]>;
  put(token: TokenRecord): Promise<void>;
  update(id: string, change: (token: TokenRecord) => void): Promise<TokenRecord | undefined>;
}

export interface EventRepository {
  /** Appends to the device's bounded event history. */
  append(deviceId: string, event: DeviceEvent): Promise<void>;
  list(deviceId: string): Promise<DeviceEvent[]>;
}

export interface HubStore {
  readonly devices: DeviceRepository;
  readonly tokens: TokenRepository;
  readonly events: EventRepository;
  /** Flushes lazy writes; the store is unusable afterwards. */
  close(): Promise<void>;
}
