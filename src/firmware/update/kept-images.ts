/**
 * Where an updater keeps, per MCU, the image it would restore if a new one fails: the
 * last image it flashed there, or what it read back before its first flash. Kept per
 * chip (the MCU id carries the serial), so a board swapped onto the same port is never
 * "restored" with another board's firmware.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import type { KeptImageInfo } from './update-policy.js';

export interface KeptImage extends KeptImageInfo {
  readonly loadAddress: number;
  /** Flash contents from loadAddress on (trailing erased bytes trimmed). */
  readonly data: Uint8Array;
}

export interface ImageKeeper {
  load(mcuId: string): Promise<KeptImage | undefined>;
  save(mcuId: string, image: KeptImage): Promise<void>;
}

interface KeptRecord {
  version: string;
  origin: KeptImageInfo['origin'];
  loadAddress: number;
  size: number;
  sha256: string;
  savedAt: string;
}

/** One folder per MCU: kept.bin, then kept.json naming its digest (written last, so a torn pair is detected). */
export class FileImageKeeper implements ImageKeeper {
  constructor(
    private readonly directory: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async load(mcuId: string): Promise<KeptImage | undefined> {
    const folder = this.folder(mcuId);
    const text = await readFileIfExists(join(folder, 'kept.json'));
    if (text === undefined) return undefined;
    let record: KeptRecord;
    try {
      record = JSON.parse(text) as KeptRecord;
    } catch {
      return undefined;
    }
    let data: Uint8Array;
    try {
      data = new Uint8Array(await readFile(join(folder, 'kept.bin')));
    } catch {
      return undefined;
    }
    if (data.length !== record.size || sha256(data) !== record.sha256) return undefined;
    if (typeof record.version !== 'string' || (record.origin !== 'flashed' && record.origin !== 'read-back')) return undefined;
    return { version: record.version, origin: record.origin, loadAddress: record.loadAddress, data };
  }

  async save(mcuId: string, image: KeptImage): Promise<void> {
    const folder = this.folder(mcuId);
    await ensureDir(folder);
    await writeFileDurably(join(folder, 'kept.bin'), image.data);
    const record: KeptRecord = {
      version: image.version,
      origin: image.origin,
      loadAddress: image.loadAddress,
      size: image.data.length,
      sha256: sha256(image.data),
      savedAt: this.now().toISOString(),
    };
    await writeFileDurably(join(folder, 'kept.json'), `${JSON.stringify(record, null, 2)}\n`);
  }

  private folder(mcuId: string): string {
    if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(mcuId)) throw new RangeError(`MCU id ${JSON.stringify(mcuId)} is not usable as a folder name`);
    return join(this.directory, mcuId);
  }
}

/** For tests and one-shot tools: keeps images in memory. */
export class MemoryImageKeeper implements ImageKeeper {
  readonly images = new Map<string, KeptImage>();

  load(mcuId: string): Promise<KeptImage | undefined> {
    return Promise.resolve(this.images.get(mcuId));
  }

  save(mcuId: string, image: KeptImage): Promise<void> {
    this.images.set(mcuId, image);
    return Promise.resolve();
  }
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
