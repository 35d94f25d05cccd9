// Which store a hub runs on: the embedded lowdb files in its data folder (the default), or a
// PostgreSQL database several hubs share (`edgepilot hub --store postgres://...`, issue 15).
import { openLowdbStore } from './lowdb-store.js';
import { describePostgresUrl } from './postgres/postgres-url.js';
import type { HubStore } from './repository.js';

export interface StoreChoice {
  dataDir: string;
  /** A postgres:// URL; absent: lowdb in `dataDir`. */
  store?: string;
}

export interface OpenStoreOptions {
  /** The leader lease's term for controller writes (PostgreSQL only); absent: no fencing (one hub). */
  fence?: () => bigint | undefined;
  log: (message: string) => void;
  /** Where the store is, said once at start. */
  info?: (message: string) => void;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** Checks a --store value: only PostgreSQL URLs are stores of their own. */
export function parseStoreUrl(value: string): string {
  if (!POSTGRES_URL.test(value)) throw new Error(`--store must be a postgres://user:password@host:port/database URL, not "${value}"`);
  try {
    new URL(value);
  } catch {
    throw new Error(`--store: "${describePostgresUrl(value)}" is not a valid URL`);
  }
  return value;
}

export async function openStore(choice: StoreChoice, options: OpenStoreOptions): Promise<HubStore> {
  options.info?.(`store: ${describeStore(choice)}`);
  if (choice.store === undefined) return openLowdbStore(choice.dataDir, options.log);
  // Loaded only here: a hub on the embedded store never imports the PostgreSQL client.
  const { openPostgresStore } = await import('./postgres/postgres-store.js');
  return openPostgresStore(choice.store, { ...(options.fence ? { fence: options.fence } : {}), log: options.log, ...(options.info ? { info: options.info } : {}) });
}

/** Where a hub's store is, for its start-up line (never a password). */
export function describeStore(choice: StoreChoice): string {
  return choice.store === undefined ? `lowdb in ${choice.dataDir}` : `PostgreSQL at ${describePostgresUrl(choice.store)}`;
}
