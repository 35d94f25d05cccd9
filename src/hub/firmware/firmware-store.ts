/**
 * The hub's firmware store: content-addressed by the sha256 of the flattened image, one
 * `<sha>.bin` (the image) and one `<sha>.json` (signed manifest, upload time) per image
 * under the hub's data folder. Both are written durably (temp, fsync, rename, fsync of the
 * folder), image first: an index entry never points at a missing image. Callers check
 * uploads (upload-check.ts) before they get here. Deltas between two stored images
 * (BSDF2, src/firmware/delta) are made on first request and kept under `deltas/`: images
 * never change under their sha256, so neither does a delta between two of them.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import type { Logger } from '../../common/log.js';
import { makeDelta } from '../../firmware/delta/index.js';
import { firmwareManifestSchema, isoTimeSchema, manifestSignatureSchema, type FirmwareImageView } from '../../protocol/index.js';
import * as z from 'zod';
import type { SharedFirmwareRepository } from '../store/firmware-records.js';

const storedFirmwareSchema = z.strictObject({
  manifest: firmwareManifestSchema,
  signature: manifestSignatureSchema,
  uploadedAt: isoTimeSchema,
});
export type StoredFirmware = z.infer<typeof storedFirmwareSchema>;

/**
 * Another image holds this target and version: at this hub, or (hubs sharing PostgreSQL) pushed
 * at another hub a moment ago, after this one's check. The API answers 409.
 */
export class FirmwareVersionTakenError extends Error {
  readonly code = 'FirmwareVersionTaken';
  constructor(
    readonly label: string,
    readonly heldBy: string,
  ) {
    super(`${label} already exists with another image (${heldBy.slice(0, 12)}); give the new build a new version`);
  }
}

export class FirmwareStore {
  private readonly index = new Map<string, StoredFirmware>();
  /** Deltas being made, so concurrent requests for one pair make it once. */
  private readonly deltasInFlight = new Map<string, Promise<Uint8Array>>();
  /** Counts this hub's own writes: a shared read made before one of them is not applied (see sync). */
  private changes = 0;
  /** Images only here whose target version another image holds in the shared store. */
  private readonly unshared = new Set<string>();

  private constructor(
    private readonly directory: string,
    private readonly log: Logger,
    /** Where hubs share a store: images pushed at any hub (this folder is then this hub's copy). */
    private readonly shared: SharedFirmwareRepository | undefined,
  ) {}

  /** Loads the index from disk (entries whose image is missing or the wrong size are skipped), then from `shared` if given. */
  static async open(directory: string, log: Logger, shared?: SharedFirmwareRepository): Promise<FirmwareStore> {
    await ensureDir(directory);
    const store = new FirmwareStore(directory, log, shared);
    for (const name of (await readdir(directory)).sort()) {
      if (!/^[0-9a-f]{64}\.json$/.test(name)) continue;
      const sha = name.slice(0, 64);
      const parsed = storedFirmwareSchema.safeParse(parseJson(await readFileIfExists(join(directory, name))));
      const size = await stat(store.imagePath(sha)).then((s) => s.size, () => -1);
      if (!parsed.success || parsed.data.manifest.sha256 !== sha || parsed.data.manifest.size !== size) {
        log.warn(`firmware store: skipping damaged entry ${sha}`);
        continue;
      }
      store.index.set(sha, parsed.data);
    }
    await store.sync();
    return store;
  }

  /**
   * Brings this copy up to date with the shared store (none: nothing to do): images pushed at
   * another hub are fetched and checked against their sha256, re-signed manifests taken; images
   * only here (pushed before the hubs shared a store) are stored there.
   */
  async sync(): Promise<void> {
    const shared = this.shared;
    if (!shared) return;
    const before = this.changes;
    const there = new Map((await shared.entries()).map((e) => [e.sha256, e.entry]));
    // An image pushed or re-signed here while the read was on its way: the next read sees it.
    if (this.changes !== before) return;
    for (const [sha, raw] of there) {
      const parsed = storedFirmwareSchema.safeParse(raw);
      if (!parsed.success || parsed.data.manifest.sha256 !== sha) {
        this.log.warn(`firmware store: skipping damaged shared entry ${sha}`);
        continue;
      }
      const here = this.index.get(sha);
      if (here && JSON.stringify(here) === JSON.stringify(parsed.data)) continue;
      if (!here) {
        const image = await shared.image(sha);
        if (!image || image.length !== parsed.data.manifest.size || createHash('sha256').update(image).digest('hex') !== sha) {
          this.log.warn(`firmware store: the shared image ${sha} does not match its sha256 or size; not taken`);
          continue;
        }
        await writeFileDurably(this.imagePath(sha), image);
      }
      if (this.changes !== before) return;
      await writeFileDurably(join(this.directory, `${sha}.json`), `${JSON.stringify(parsed.data, null, 2)}\n`);
      this.index.set(sha, parsed.data);
    }
    for (const [sha, entry] of this.index) {
      if (there.has(sha) || this.unshared.has(sha)) continue;
      const outcome = await shared.putImage(sha, entry, await readFile(this.imagePath(sha)));
      if (typeof outcome !== 'object') continue;
      this.unshared.add(sha); // said once, not at every sync
      this.log.warn(`firmware store: ${entry.manifest.target} ${entry.manifest.version} (${sha.slice(0, 12)}), kept only here, is another image than the shared one (${outcome.versionTakenBy.slice(0, 12)}); the other hubs do not get it`);
    }
  }

  list(): StoredFirmware[] {
    return [...this.index.values()].sort((a, b) => a.manifest.target.localeCompare(b.manifest.target) || a.uploadedAt.localeCompare(b.uploadedAt));
  }

  get(sha256: string): StoredFirmware | undefined {
    return this.index.get(sha256);
  }

  /** Images whose sha256 starts with `prefix` (for `--image <sha prefix>`). */
  withPrefix(prefix: string): StoredFirmware[] {
    return this.list().filter((f) => f.manifest.sha256.startsWith(prefix));
  }

  findVersion(target: string, version: string): StoredFirmware | undefined {
    return this.list().find((f) => f.manifest.target.toLowerCase() === target.toLowerCase() && f.manifest.version === version);
  }

  imagePath(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new RangeError('not a sha256');
    return join(this.directory, `${sha256}.bin`);
  }

  /**
   * Stores a checked upload; storing the same image again changes nothing. Another image for the
   * same target and version is refused (FirmwareVersionTakenError) here too, not only by the
   * caller's check: with a shared store only the store's claim sees another hub's push.
   */
  async put(entry: StoredFirmware, image: Uint8Array): Promise<'created' | 'exists'> {
    const sha = entry.manifest.sha256;
    if (this.index.has(sha)) return 'exists';
    const label = `${entry.manifest.target} ${entry.manifest.version}`;
    const held = this.findVersion(entry.manifest.target, entry.manifest.version);
    if (held) throw new FirmwareVersionTakenError(label, held.manifest.sha256);
    this.changes += 1;
    // Shared first: an image this hub answered for is one every hub can serve ('exists': another
    // hub stored these same bytes meanwhile; this hub's copy is written all the same).
    const outcome = await this.shared?.putImage(sha, entry, image);
    if (typeof outcome === 'object') throw new FirmwareVersionTakenError(label, outcome.versionTakenBy);
    await writeFileDurably(this.imagePath(sha), image);
    await writeFileDurably(join(this.directory, `${sha}.json`), `${JSON.stringify(entry, null, 2)}\n`);
    this.index.set(sha, entry);
    return 'created';
  }

  /**
   * The BSDF2 delta that turns stored image `from` into stored image `to`: read from the
   * cache, or made (bsdiff, a few hundred milliseconds for 64 KB) and kept. Both images
   * must be stored; the caller decides whether `to` may be served.
   */
  async delta(from: string, to: string): Promise<Uint8Array> {
    if (!this.index.has(from) || !this.index.has(to)) throw new RangeError(`no stored image ${this.index.has(from) ? to : from}`);
    const key = `${from}-${to}`;
    const path = join(this.directory, 'deltas', `${key}.bsdf2`);
    const cached = await readFile(path).catch(() => undefined);
    if (cached !== undefined) return new Uint8Array(cached);
    let making = this.deltasInFlight.get(key);
    if (making === undefined) {
      making = (async () => {
        const [older, newer] = await Promise.all([readFile(this.imagePath(from)), readFile(this.imagePath(to))]);
        const delta = makeDelta(older, newer);
        await ensureDir(join(this.directory, 'deltas'));
        await writeFileDurably(path, delta);
        return delta;
      })().finally(() => this.deltasInFlight.delete(key));
      this.deltasInFlight.set(key, making);
    }
    return making;
  }

  /**
   * Replaces the signed manifest of an image already stored (the same bytes re-signed after
   * its key was removed); the image file stays as it is.
   */
  async replaceManifest(entry: StoredFirmware): Promise<void> {
    const sha = entry.manifest.sha256;
    if (!this.index.has(sha)) throw new RangeError(`no stored image ${sha}`);
    this.changes += 1;
    if (this.shared && !(await this.shared.putEntry(sha, entry))) await this.shared.putImage(sha, entry, await readFile(this.imagePath(sha)));
    await writeFileDurably(join(this.directory, `${sha}.json`), `${JSON.stringify(entry, null, 2)}\n`);
    this.index.set(sha, entry);
  }
}

/** How the API shows a stored image; `keyTrusted` says whether the hub still serves it to gateways. */
export function firmwareView(entry: StoredFirmware, keyTrusted: boolean): FirmwareImageView {
  const { manifest } = entry;
  return {
    sha256: manifest.sha256,
    target: manifest.target,
    version: manifest.version,
    size: manifest.size,
    loadAddress: manifest.loadAddress,
    keyId: entry.signature.keyId,
    keyTrusted,
    createdAt: manifest.createdAt,
    uploadedAt: entry.uploadedAt,
  };
}

function parseJson(text: string | undefined): unknown {
  try {
    return text === undefined ? undefined : (JSON.parse(text) as unknown);
  } catch {
    return undefined; // a torn or edited file: reported as damaged by the caller
  }
}
