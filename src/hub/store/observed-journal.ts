// Observed state on disk as a snapshot and a journal. observed.json holds every device's facts,
// last report and events: tens of MB at 20,000 devices. Written whole on every lazy flush, it
// was the largest single cost of the hub during a rollout wave or a report storm (JSON of the
// whole fleet for every few hundred changed reports). Now a flush appends only the records that
// changed to the snapshot's journal, so its cost follows the changes, not the fleet.
import { open, readdir, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Adapter } from 'lowdb';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { errorMessage } from '../../common/errors.js';
import type { ObservedDocument } from './document.js';
import { checkedObservedDocument, type SkippedRecord } from './record-check.js';
import { checkedDigest } from './checked-digest.js';

export type ObservedCollection = keyof ObservedDocument;
const collections: readonly ObservedCollection[] = ['devices', 'reported', 'events'];

/** The journal is folded into a new snapshot once it outgrows the snapshot (and this much). */
const MIN_COMPACT_BYTES = 1 << 20;

/** One journal line: the record's new value, or none for a deletion. */
interface JournalEntry {
  c: ObservedCollection;
  k: string;
  v?: unknown;
}

/**
 * observed.json (a snapshot naming its generation g) plus observed.<g>.log, one JSON line per
 * changed record, each flush's lines sealed by a last line with their digest (a load takes sealed
 * records and a snapshot whose digest matches as written, without checking them one by one:
 * checked-digest.ts). A load replays only its snapshot's journal; a torn last line (a crash in an
 * append) is ignored. (A hub from before the seals stops its replay at the first seal, with a
 * warning: observed state only, which the devices send again.) When the journal grows past the snapshot's size the next flush writes a new
 * snapshot, generation g + 1, durably, and only then removes the old journal: a crash in between
 * leaves a snapshot that names the new generation, whose journal does not exist yet.
 *
 * Observed state can be rebuilt from the devices (they report again), so a damaged snapshot is
 * moved aside and the hub starts with an empty one instead of refusing to start.
 */
export class ObservedJournal implements Adapter<ObservedDocument> {
  private readonly dirty = new Map<ObservedCollection, Set<string>>();
  private generation = 0;
  private snapshotBytes = 0;
  private journalBytes = 0;
  /** No snapshot on disk yet (a fresh data folder, or one moved aside): the first flush writes one. */
  private needsSnapshot = true;

  /** @param minCompactBytes the journal is never folded in before it is this long (tests make it small). */
  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void,
    private readonly minCompactBytes = MIN_COMPACT_BYTES,
  ) {}

  journalPath(generation = this.generation): string {
    return join(dirname(this.path), `${basename(this.path, '.json')}.${generation}.log`);
  }

  /** A record changed in memory: the next flush writes it. */
  changed(collection: ObservedCollection, key: string): void {
    let keys = this.dirty.get(collection);
    if (keys === undefined) this.dirty.set(collection, (keys = new Set()));
    keys.add(key);
  }

  async read(): Promise<ObservedDocument | null> {
    const text = await readFileIfExists(this.path);
    if (text === undefined) {
      // Journals without their snapshot (it was removed by hand) would be replayed onto the next one.
      await this.removeJournals();
      return null;
    }
    let raw: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new SyntaxError('not a JSON object');
      raw = parsed as Record<string, unknown>;
    } catch (err) {
      const aside = `${this.path}.damaged-${Date.now()}`;
      await rename(this.path, aside);
      this.warn(`${this.path} was not valid JSON (${errorMessage(err)}); moved to ${aside}, devices will report again`);
      await this.removeJournals();
      return null;
    }
    const vouched = vouchedSnapshot(text, raw);
    delete raw['sum'];
    const generation = raw['journal'];
    this.generation = typeof generation === 'number' && Number.isSafeInteger(generation) && generation >= 0 ? generation : 0;
    this.snapshotBytes = text.length;
    this.needsSnapshot = false;
    // Null-prototype collections: a journal key such as `__proto__` is a record like any other.
    for (const c of collections) raw[c] = Object.assign(Object.create(null) as Record<string, unknown>, typeof raw[c] === 'object' && raw[c] !== null ? raw[c] : {});
    const { bytes, whole, replayed } = await this.replay(raw);
    this.journalBytes = bytes;
    // Appending after a torn line would join the next entry to it: a new snapshot starts afresh.
    if (!whole) this.needsSnapshot = true;
    await this.removeJournals(basename(this.journalPath()));
    // The snapshot's records as its digest vouches for them; what the journal replaced is checked.
    const { doc, skipped } = checkedObservedDocument(raw, this.path, (c, k) => replayed.get(c as ObservedCollection)?.get(k) ?? vouched);
    await keepAside(this.path, skipped, this.warn);
    return doc;
  }

  /** The lazy flush: appends what changed, or writes a new snapshot when the journal is long. */
  async write(doc: ObservedDocument): Promise<void> {
    if (this.needsSnapshot || this.journalBytes > Math.max(this.snapshotBytes, this.minCompactBytes)) return this.compact(doc);
    if (this.dirty.size === 0) return;
    // Taken now, synchronously: changes made while the append is on its way are the next flush's.
    const lines: string[] = [];
    for (const [c, keys] of this.dirty) {
      const records = doc[c] as Record<string, unknown>;
      for (const k of keys) {
        const v = records[k];
        lines.push(JSON.stringify(v === undefined ? { c, k } : { c, k, v }));
      }
    }
    this.dirty.clear();
    // Sealed with the digest of the lines before it: a load takes them as written, unchecked.
    const entries = `${lines.join('\n')}\n`;
    const text = `${entries}${JSON.stringify({ sum: checkedDigest(entries) })}\n`;
    const handle = await open(this.journalPath(), 'a', 0o600);
    try {
      await handle.write(text);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    this.journalBytes += Buffer.byteLength(text);
  }

  private async compact(doc: ObservedDocument): Promise<void> {
    const previous = this.journalPath();
    const next = this.generation + 1;
    this.dirty.clear();
    const text = snapshotText(next, doc);
    await writeFileDurably(this.path, text);
    this.generation = next;
    this.snapshotBytes = text.length;
    this.journalBytes = 0;
    this.needsSnapshot = false;
    await unlink(previous).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  /** Applies the snapshot's journal to `raw`; resolves to its size and whether every line was whole. */
  /**
   * Applies the snapshot's journal to `raw`; resolves to its size, whether every line was whole,
   * and per record it replaced whether a seal (a flush's last line, the digest of its entries)
   * vouches for the value it now has. Entries of an unsealed flush (torn, or from a hub before
   * the seals) are applied as before and checked at load.
   */
  private async replay(raw: Record<string, unknown>): Promise<{ bytes: number; whole: boolean; replayed: Map<ObservedCollection, Map<string, boolean>> }> {
    const replayed = new Map<ObservedCollection, Map<string, boolean>>();
    const pending: [Map<string, boolean>, string][] = [];
    let blockStart = 0;
    let offset = 0;
    const text = await readFileIfExists(this.journalPath());
    if (text === undefined) return { bytes: 0, whole: true, replayed };
    let whole = text === '' || text.endsWith('\n');
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const lineStart = offset;
      offset += line.length + 1;
      if (line === '') continue;
      const seal = sealOf(line);
      if (seal !== undefined) {
        const vouched = seal === checkedDigest(text.slice(blockStart, lineStart));
        for (const [keys, key] of pending) keys.set(key, vouched);
        pending.length = 0;
        blockStart = offset;
        continue;
      }
      const entry = parseEntry(line);
      if (entry === undefined) {
        whole = false;
        // Only the last line can be torn by a crash; anything else is damage worth a word.
        if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l !== '')) this.warn(`${this.journalPath()}: line ${i + 1} is not a journal entry; the entries after it are left out`);
        break;
      }
      const records = raw[entry.c] as Record<string, unknown>;
      if (entry.v === undefined) delete records[entry.k];
      else records[entry.k] = entry.v;
      let keys = replayed.get(entry.c);
      if (keys === undefined) replayed.set(entry.c, (keys = new Map()));
      keys.set(entry.k, false);
      pending.push([keys, entry.k]);
    }
    return { bytes: Buffer.byteLength(text), whole, replayed };
  }

  /** Every journal file of this snapshot's name but `keep`. */
  private async removeJournals(keep?: string): Promise<void> {
    const prefix = `${basename(this.path, '.json')}.`;
    const names = await readdir(dirname(this.path)).catch(() => [] as string[]);
    for (const name of names) {
      if (name === keep || !name.startsWith(prefix) || !/^\d+\.log$/.test(name.slice(prefix.length))) continue;
      await unlink(join(dirname(this.path), name)).catch(() => undefined);
    }
  }
}

/**
 * A snapshot's text: `{"journal":<g>,"sum":"<digest>",` and then the document's own JSON, whose
 * checked digest (checked-digest.ts) the sum is. Readers that know no sum ignore the field.
 */
function snapshotText(generation: number, doc: ObservedDocument): string {
  const body = JSON.stringify(doc);
  const rest = body === '{}' ? '}' : `,${body.slice(1)}`;
  return `{"journal":${generation},"sum":"${checkedDigest(body)}"${rest}`;
}

/** Whether a snapshot's text is, after its head, the very document its sum was computed over. */
function vouchedSnapshot(text: string, raw: Record<string, unknown>): boolean {
  const { journal, sum } = raw;
  if (typeof sum !== 'string' || typeof journal !== 'number') return false;
  const head = `{"journal":${journal},"sum":${JSON.stringify(sum)}`;
  if (!text.startsWith(head)) return false;
  const rest = text.slice(head.length);
  const body = rest === '}' ? '{}' : rest.startsWith(',') ? `{${rest.slice(1)}` : undefined;
  return body !== undefined && checkedDigest(body) === sum;
}

/** The digest a seal line carries, or undefined for any other line. */
function sealOf(line: string): string | undefined {
  if (!line.startsWith('{"sum":"')) return undefined;
  try {
    const { sum } = JSON.parse(line) as { sum?: unknown };
    return typeof sum === 'string' ? sum : undefined;
  } catch {
    return undefined;
  }
}

function parseEntry(line: string): JournalEntry | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { c, k } = parsed as Record<string, unknown>;
    if (typeof k !== 'string' || !collections.includes(c as ObservedCollection)) return undefined;
    return parsed as JournalEntry;
  } catch {
    return undefined;
  }
}

/**
 * Malformed records left out at load are written next to the store file (never lost: the next
 * write of the store no longer holds them), each named in a warning.
 */
export async function keepAside(path: string, skipped: readonly SkippedRecord[], warn: (message: string) => void): Promise<void> {
  if (skipped.length === 0) return;
  const aside = `${path}.skipped-${Date.now()}.json`;
  await writeFileDurably(aside, JSON.stringify(skipped, null, 2));
  for (const s of skipped) warn(`${path}: skipped malformed ${s.collection} record ${JSON.stringify(s.key.slice(0, 80))} (${s.problem}); kept in ${aside}`);
}
