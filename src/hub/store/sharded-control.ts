// How the control document lies on disk (schema 5). The collections that grow with the fleet are
// split by key hash into shard files under `store-shards/`: `devices` and `desired` (about 24 MB
// at 20,000 devices), `releasePins`, and `rolloutDevices`, the per-device state of every rollout
// (keyed `<rollout>/<device id>`; the rollout's header, everything but `status.devices`, stays in
// store.json). `store.json` holds every other collection and names the shard files that are
// current. A commit writes only the shards that changed, each to a new file, and then
// store.json (temp file, fsync, rename, fsync of the folder): until that rename the previous
// store.json names the previous shard files, which are still there, so a crash at any instant
// leaves either the old or the new state, whole. Files no store.json names (a commit cut short,
// shards replaced since) are removed at the next open and after each commit. A rollout
// transition that moves a few devices so writes a few shards and a small store.json, not the
// whole rollout.
//
// Schema 3 and older kept everything in store.json, schema 4 kept pins and rollouts whole in it:
// such a file is read as before, and the first commit writes the missing shards.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, nodeDurableFileSystem, readFileIfExists, writeFileDurably, type DurableFileSystem } from '../../common/durable-file.js';
import type { StoreDocument } from './document.js';
import { checkedDigest } from './checked-digest.js';
import { errorMessage } from '../../common/errors.js';

export const shardedCollections = ['devices', 'desired', 'releasePins', 'rolloutDevices'] as const;
export type ShardedCollection = (typeof shardedCollections)[number];
/** Sharded collections that are top-level collections of the document, keyed as there. */
const plainCollections = ['devices', 'desired', 'releasePins'] as const;

/** The shard key of one device's entry in a rollout's status (rollout names have no `/`). */
export const rolloutDeviceKey = (rollout: string, deviceId: string): string => `${rollout}/${deviceId}`;

function splitRolloutDeviceKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

/** A sharded collection's record under `key` in the document, or undefined. */
function recordOf(doc: StoreDocument, collection: ShardedCollection, key: string): unknown {
  if (collection !== 'rolloutDevices') return (doc[collection] as Record<string, unknown>)[key];
  const [rollout, id] = splitRolloutDeviceKey(key);
  const r = doc.rollouts[rollout];
  return r === undefined ? undefined : r.status.devices[id];
}

function keysOf(doc: StoreDocument, collection: ShardedCollection): string[] {
  if (collection !== 'rolloutDevices') return Object.keys(doc[collection]);
  return Object.values(doc.rollouts).flatMap((r) => Object.keys(r.status.devices).map((id) => rolloutDeviceKey(r.name, id)));
}

const noFiles = (shards: number): (string | null)[] => Array<string | null>(shards).fill(null);

/** Shards per collection: ~140 KB of desired documents each at 20,000 devices. */
export const DEFAULT_SHARDS = 128;
export const SHARD_FOLDER = 'store-shards';

/** What store.json says about the shards (absent in schema ≤ 3 files). */
export interface ShardLayout {
  shards: number;
  /** Per collection, the file of each shard (null: the shard is empty). */
  files: Record<ShardedCollection, (string | null)[]>;
  /**
   * Per collection, the checked digest of each shard file's text (checked-digest.ts): a shard
   * whose text still matches is loaded without checking its records one by one. Absent in
   * files written before the digests, and null for a shard without one: those are checked.
   */
  sums?: Record<ShardedCollection, (string | null)[]>;
}

/** FNV-1a: stable across processes and versions (the layout on disk depends on it). */
export function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** What one commit writes: computed synchronously from the document, written afterwards. */
export interface ControlCommit {
  shards: { collection: ShardedCollection; index: number; name: string | null; text: string | null }[];
  main: string;
  layout: ShardLayout;
}

function emptyLayout(shards: number): ShardLayout {
  return { shards, files: { devices: noFiles(shards), desired: noFiles(shards), releasePins: noFiles(shards), rolloutDevices: noFiles(shards) }, sums: emptySums(shards) };
}

function emptySums(shards: number): Record<ShardedCollection, (string | null)[]> {
  return { devices: noFiles(shards), desired: noFiles(shards), releasePins: noFiles(shards), rolloutDevices: noFiles(shards) };
}

/** The layout's digest of one shard, if it has a well-formed one. */
function sumOf(layout: ShardLayout, collection: ShardedCollection, index: number): string | undefined {
  const sum = (layout.sums as Record<string, unknown[] | undefined> | undefined)?.[collection]?.[index];
  return typeof sum === 'string' && /^[0-9a-f]{64}$/.test(sum) ? sum : undefined;
}

/** Whether a layout is well formed; a collection it does not name (schema 4) is still inline in store.json. */
function isLayout(value: unknown): value is ShardLayout {
  const v = value as ShardLayout | undefined;
  return (
    typeof v === 'object' && v !== null && Number.isInteger(v.shards) && v.shards > 0 && typeof v.files === 'object' && v.files !== null &&
    shardedCollections.every((c) => v.files[c] === undefined || (Array.isArray(v.files[c]) && v.files[c].length === v.shards && v.files[c].every((f) => f === null || (typeof f === 'string' && /^[a-zA-Z]+-\d+-\d+\.json$/.test(f)))))
  );
}

export class ShardedControlFile {
  private layout: ShardLayout;
  /** Keys per shard, as far as the document ever held them (pruned when a shard is written). */
  private readonly members: Record<ShardedCollection, Set<string>[]>;
  private readonly dirty: Record<ShardedCollection, Set<number>> = { devices: new Set(), desired: new Set(), releasePins: new Set(), rolloutDevices: new Set() };
  private seq = 0;
  /** Keys of the records read from shards whose digest matched, until adopt (see vouched). */
  private vouchedKeys: Record<'devices' | 'desired' | 'releasePins', Set<string>> = { devices: new Set(), desired: new Set(), releasePins: new Set() };
  readonly folder: string;

  constructor(
    readonly path: string,
    readonly fs: DurableFileSystem = nodeDurableFileSystem,
    shards = DEFAULT_SHARDS,
  ) {
    this.folder = join(path, '..', SHARD_FOLDER);
    this.layout = emptyLayout(shards);
    this.members = { devices: [], desired: [], releasePins: [], rolloutDevices: [] };
  }

  /**
   * The raw document (shards merged back into `devices` and `desired`), or undefined when there
   * is no store yet. Throws on a store.json that is not JSON (never start over a store).
   */
  async read(options: { cleanup: boolean } = { cleanup: true }): Promise<unknown> {
    await ensureDir(this.folder);
    const text = await readFileIfExists(this.path);
    if (text === undefined) {
      this.resetMembers();
      if (options.cleanup) await this.removeUnreferenced();
      return undefined;
    }
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`${this.path}: store file is not valid JSON (${errorMessage(err)}); refusing to start over it`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
    const layout = raw['layout'];
    delete raw['layout'];
    if (layout === undefined) {
      // Schema ≤ 3: everything inline. The first commit moves the fleet into shards.
      this.layout = emptyLayout(this.layout.shards);
      this.resetMembers();
      this.markAll();
    } else {
      if (!isLayout(layout)) throw new Error(`${this.path}: "layout" is malformed; refusing to start over it`);
      const inline = shardedCollections.filter((c) => layout.files[c] === undefined);
      for (const c of inline) layout.files[c] = noFiles(layout.shards);
      // Only well-formed digests are kept; a shard without one is checked, and gets one when written.
      const sums = emptySums(layout.shards);
      for (const c of shardedCollections) for (let i = 0; i < layout.shards; i++) sums[c][i] = sumOf(layout, c, i) ?? null;
      layout.sums = sums;
      this.layout = layout;
      this.resetMembers();
      for (const collection of shardedCollections) {
        if (inline.includes(collection)) continue;
        const merged: Record<string, unknown> = {};
        for (const [index, name] of layout.files[collection].entries()) {
          if (name === null) continue;
          const shardText = await readFileIfExists(join(this.folder, name));
          if (shardText === undefined) throw new Error(`${this.path}: shard file ${SHARD_FOLDER}/${name} is missing; refusing to start over an incomplete store`);
          let shard: unknown;
          try {
            shard = JSON.parse(shardText);
          } catch (err) {
            throw new Error(`${SHARD_FOLDER}/${name}: not valid JSON (${errorMessage(err)}); refusing to start over it`);
          }
          Object.assign(merged, shard);
          const sum = sums[collection][index];
          if (collection !== 'rolloutDevices' && typeof shard === 'object' && shard !== null) {
            // A key found again in a shard that does not match (a file copied by hand) is checked.
            const matches = sum !== null && sum === checkedDigest(shardText);
            const vouched = this.vouchedKeys[collection];
            for (const key of Object.keys(shard)) {
              if (matches) vouched.add(key);
              else vouched.delete(key);
            }
          }
          this.seq = Math.max(this.seq, Number(name.split('-')[2]?.split('.')[0] ?? 0));
        }
        if (collection === 'rolloutDevices') mergeRolloutDevices(raw, merged);
        else raw[collection] = merged;
      }
      // Written by an older layout: the first commit moves these collections into shards.
      for (const c of inline) for (let i = 0; i < layout.shards; i++) this.dirty[c].add(i);
    }
    if (options.cleanup) await this.removeUnreferenced();
    return raw;
  }

  /**
   * Whether the record under `key` was read from a shard whose text matched its digest: written
   * by a hub of this release as it is now, so its records need no check one by one. A rollout's
   * device entries are never vouched for (the whole rollout is checked with its header).
   */
  vouched(collection: string, key: string): boolean {
    return (collection === 'devices' || collection === 'desired' || collection === 'releasePins') && this.vouchedKeys[collection].has(key);
  }

  /** Called once the document is loaded and checked: which keys live in which shard. */
  adopt(doc: StoreDocument): void {
    this.vouchedKeys = { devices: new Set(), desired: new Set(), releasePins: new Set() };
    this.resetMembers();
    for (const collection of shardedCollections) for (const key of keysOf(doc, collection)) this.members[collection][shardOf(key, this.layout.shards)]?.add(key);
  }

  /** A record of a sharded collection was set or deleted: its shard is written by the next commit. */
  changed(collection: ShardedCollection, key: string): void {
    const index = shardOf(key, this.layout.shards);
    this.members[collection][index]?.add(key);
    this.dirty[collection].add(index);
  }

  /** Every shard is written by the next commit (a store read in an older layout, records dropped at load). */
  markAll(): void {
    for (const collection of shardedCollections) for (let i = 0; i < this.layout.shards; i++) this.dirty[collection].add(i);
  }

  /**
   * A record's JSON text, kept by the record's identity for devices and desired documents: the
   * store replaces those whole on every write and never edits them in place, so the same object
   * has the same text. A commit that changes one document of a shard then serialises one
   * document, not the shard's ~150 (at 20,000 devices the commit after a pass that sent 20 new
   * documents serialised ~3,000).
   */
  private textOf(collection: ShardedCollection, record: unknown): string {
    if ((collection !== 'devices' && collection !== 'desired') || typeof record !== 'object' || record === null) return JSON.stringify(record);
    let text = this.texts.get(record);
    if (text === undefined) this.texts.set(record, (text = JSON.stringify(record)));
    return text;
  }

  private readonly texts = new WeakMap<object, string>();

  /** The commit's contents, synchronously: the changed shards and store.json. */
  snapshot(doc: StoreDocument): ControlCommit {
    const files = this.layout.files;
    const sums = this.layout.sums ?? emptySums(this.layout.shards);
    const layout: ShardLayout = {
      shards: this.layout.shards,
      files: { devices: [...files.devices], desired: [...files.desired], releasePins: [...files.releasePins], rolloutDevices: [...files.rolloutDevices] },
      sums: { devices: [...sums.devices], desired: [...sums.desired], releasePins: [...sums.releasePins], rolloutDevices: [...sums.rolloutDevices] },
    };
    const shards: ControlCommit['shards'] = [];
    this.seq += 1;
    for (const collection of shardedCollections) {
      for (const index of [...this.dirty[collection]].sort((a, b) => a - b)) {
        const keys = this.members[collection][index] as Set<string>;
        const entries: string[] = [];
        for (const key of keys) {
          const record = recordOf(doc, collection, key);
          if (record === undefined) keys.delete(key);
          else entries.push(`${JSON.stringify(key)}:${this.textOf(collection, record)}`);
        }
        const count = entries.length;
        const name = count === 0 ? null : `${collection}-${index}-${this.seq}.json`;
        const text = count === 0 ? null : `{${entries.join(',')}}`;
        shards.push({ collection, index, name, text });
        layout.files[collection][index] = name;
        (layout.sums as Record<ShardedCollection, (string | null)[]>)[collection][index] = text === null ? null : checkedDigest(text);
      }
      this.dirty[collection].clear();
    }
    const main: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(doc)) if (!(plainCollections as readonly string[]).includes(key)) main[key] = value;
    // A rollout's header only: its devices are the rolloutDevices shards.
    const headers: Record<string, unknown> = {};
    for (const [name, r] of Object.entries(doc.rollouts)) headers[name] = { ...r, status: { ...r.status, devices: {} } };
    main['rollouts'] = headers;
    main['layout'] = layout;
    return { shards, main: this.mainText(main), layout };
  }

  /**
   * store.json's text. Placements are written out by parts, each placement's text kept by its
   * identity (the store replaces a placement whole, never edits it): a 20,000-replica placement
   * was serialised again by every commit, also by those that changed one desired document.
   */
  private mainText(main: Record<string, unknown>): string {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(main)) {
      if (value === undefined) continue;
      if (key !== 'placements' || typeof value !== 'object' || value === null) {
        parts.push(`${JSON.stringify(key)}:${JSON.stringify(value)}`);
        continue;
      }
      const placements: string[] = [];
      for (const [name, placement] of Object.entries(value)) {
        if (placement === undefined) continue;
        let text = typeof placement === 'object' && placement !== null ? this.texts.get(placement) : undefined;
        if (text === undefined) {
          text = JSON.stringify(placement);
          if (typeof placement === 'object' && placement !== null) this.texts.set(placement, text);
        }
        placements.push(`${JSON.stringify(name)}:${text}`);
      }
      parts.push(`${JSON.stringify(key)}:{${placements.join(',')}}`);
    }
    return `{${parts.join(',')}}`;
  }

  /** Writes a snapshot durably; on failure its shards are written again by the next commit. */
  async persist(commit: ControlCommit): Promise<void> {
    try {
      // Shard files have names never used before and nothing names them until store.json does:
      // written in place and fsynced, then one fsync of their folder, then store.json.
      const written = commit.shards.filter((s) => s.name !== null && s.text !== null);
      await Promise.all(written.map((s) => this.fs.writeAndSync(join(this.folder, s.name as string), s.text as string)));
      if (written.length > 0) await this.fs.syncFolder(this.folder);
      await writeFileDurably(this.path, commit.main, this.fs);
    } catch (err) {
      for (const s of commit.shards) this.dirty[s.collection].add(s.index);
      throw err;
    }
    const replaced = commit.shards.flatMap((s) => this.layout.files[s.collection][s.index] ?? []);
    this.layout = commit.layout;
    // The new store.json no longer names these: a crash from here on only leaves garbage.
    await Promise.all(replaced.map((name) => this.fs.unlink(join(this.folder, name)).catch(() => undefined)));
  }

  private resetMembers(): void {
    for (const collection of shardedCollections) this.members[collection] = Array.from({ length: this.layout.shards }, () => new Set<string>());
  }

  private async removeUnreferenced(): Promise<void> {
    const referenced = new Set(shardedCollections.flatMap((c) => this.layout.files[c].filter((f): f is string => f !== null)));
    for (const name of await readdir(this.folder)) {
      if (!referenced.has(name)) await this.fs.unlink(join(this.folder, name)).catch(() => undefined);
    }
  }
}

/** Puts the rolloutDevices shards' entries back into their rollouts (entries of no stored rollout are dropped). */
function mergeRolloutDevices(raw: Record<string, unknown>, merged: Record<string, unknown>): void {
  const rollouts = raw['rollouts'];
  if (typeof rollouts !== 'object' || rollouts === null) return;
  for (const [key, entry] of Object.entries(merged)) {
    const [name, id] = splitRolloutDeviceKey(key);
    const status = (rollouts as Record<string, { status?: { devices?: Record<string, unknown> } } | undefined>)[name]?.status;
    if (typeof status !== 'object' || status === null) continue;
    if (typeof status.devices !== 'object' || status.devices === null) status.devices = {};
    status.devices[id] = entry;
  }
}

/** The whole control document as the files say (tests and benches that compare stores). */
export async function readControlDocument(dataDir: string): Promise<Record<string, unknown> | undefined> {
  const file = new ShardedControlFile(join(dataDir, 'store.json'));
  // No clean-up: a hub may be writing the next commit's shards right now.
  return (await file.read({ cleanup: false })) as Record<string, unknown> | undefined;
}
