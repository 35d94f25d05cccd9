import { join } from 'node:path';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import type { ConfigKind } from '../../protocol/index.js';
import { configObjectKey, type ConfigObjectRecord } from './config-records.js';

/**
 * ConfigMaps and Secrets, kept in their own file of the data folder (`config-objects.json`,
 * replaced durably on every change): a Secret is in it as ciphertext only. Writes run one at a
 * time; a write is acknowledged only once it is on disk.
 */
export class ConfigObjectStore {
  private queue: Promise<unknown> = Promise.resolve();
  /** Bumped on every change, so the desired pass can tell whether anything moved. */
  changes = 0;

  private constructor(
    private readonly path: string,
    private readonly objects: Map<string, ConfigObjectRecord>,
  ) {}

  static async open(dataDir: string): Promise<ConfigObjectStore> {
    const path = join(dataDir, 'config-objects.json');
    const text = await readFileIfExists(path);
    const list = text === undefined ? [] : (JSON.parse(text) as { objects: ConfigObjectRecord[] }).objects;
    return new ConfigObjectStore(path, new Map(list.map((o) => [configObjectKey(o.kind, o.name), o])));
  }

  get(kind: ConfigKind, name: string): ConfigObjectRecord | undefined {
    return this.objects.get(configObjectKey(kind, name));
  }

  list(kind?: ConfigKind): ConfigObjectRecord[] {
    return [...this.objects.values()].filter((o) => kind === undefined || o.kind === kind).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Stores every record, in one write. */
  put(records: readonly ConfigObjectRecord[]): Promise<void> {
    if (records.length === 0) return this.settled();
    return this.write(() => {
      for (const r of records) this.objects.set(configObjectKey(r.kind, r.name), structuredClone(r));
    });
  }

  async delete(kind: ConfigKind, name: string): Promise<boolean> {
    if (!this.objects.has(configObjectKey(kind, name))) return false;
    await this.write(() => this.objects.delete(configObjectKey(kind, name)));
    return true;
  }

  settled(): Promise<void> {
    return this.queue.then(() => undefined);
  }

  private write(change: () => void): Promise<void> {
    const turn = this.queue.then(async () => {
      change();
      this.changes += 1;
      await writeFileDurably(this.path, JSON.stringify({ objects: [...this.objects.values()] }));
    });
    this.queue = turn.catch(() => undefined);
    return turn;
  }
}
