import { open, rename, unlink, readFile, mkdir } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { errnoCode } from './errors.js';

let fsyncs = 0;

/** fsync calls made by durable writes in this process so far (for `/v1/stats` and the benches). */
export function durableFsyncCount(): number {
  return fsyncs;
}

const writeListeners = new Set<(seconds: number) => void>();

/** Calls `listener` with the duration of every completed durable write (the hub's metrics). */
export function observeDurableWrites(listener: (seconds: number) => void): () => void {
  writeListeners.add(listener);
  return () => writeListeners.delete(listener);
}

/**
 * The file operations a durable write is made of, injectable so that a test can record their
 * order (and delay them) without a real crash.
 */
export interface DurableFileSystem {
  /** Creates `temp` with `contents` and fsyncs it. */
  writeAndSync(temp: string, contents: string | Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** fsyncs a folder, so that a rename inside it is on disk. */
  syncFolder(folder: string): Promise<void>;
  unlink(path: string): Promise<void>;
}

export const nodeDurableFileSystem: DurableFileSystem = {
  async writeAndSync(temp, contents) {
    const file = await open(temp, 'w', 0o600);
    try {
      await file.writeFile(contents);
      fsyncs += 1;
      await file.sync();
    } finally {
      await file.close();
    }
  },
  rename: (from, to) => rename(from, to),
  async syncFolder(folder) {
    const dir = await open(folder, 'r');
    try {
      fsyncs += 1;
      await dir.sync();
    } finally {
      await dir.close();
    }
  },
  unlink: (path) => unlink(path),
};

/**
 * Replace a file so that after a crash at any instant the path holds either the old or the new
 * contents, never a mix and never nothing: write a temp file in the same folder, fsync it, rename
 * it over the target (atomic on POSIX), then fsync the folder so the rename itself is on disk.
 * lowdb's own writer renames but never fsyncs, which loses both on power failure.
 */
export async function writeFileDurably(path: string, contents: string | Uint8Array, fs: DurableFileSystem = nodeDurableFileSystem): Promise<void> {
  const started = process.hrtime.bigint();
  const folder = dirname(path);
  const temp = join(folder, `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.writeAndSync(temp, contents);
    await fs.rename(temp, path);
  } catch (err) {
    await fs.unlink(temp).catch(() => undefined);
    throw err;
  }
  await fs.syncFolder(folder);
  if (writeListeners.size > 0) {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const listener of writeListeners) listener(seconds);
  }
}

export async function readFileIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
}

export async function ensureDir(path: string, mode = 0o700): Promise<void> {
  await mkdir(path, { recursive: true, mode });
}

/**
 * Coalesces writes of one ever-changing value: while a write is on its way to disk, further
 * requests wait for one more write that takes the latest value. N changes in a burst cost two
 * writes, not N, and every caller's promise resolves only once its change is durable.
 */
export class CoalescingWriter {
  private inFlight: Promise<void> | undefined;
  private queued: { promise: Promise<void>; settle: (err?: unknown) => void } | undefined;

  /**
   * @param minIntervalMs group commit: a write starts no sooner than this after the previous
   *   one started, so a storm of changes costs a bounded number of writes per second (each
   *   waiter pays at most this much extra latency).
   */
  /**
   * @param dutyCycle the share of time writing may take: after a write of d ms the next one
   *   waits until d / dutyCycle after the previous start (a 10 ms write with 0.25 → every 40 ms).
   */
  /**
   * @param monotonicNow a clock that never steps (default `performance.now`). The wall clock would
   *   do harm here: a board whose NTP steps it back by hours computed a wait of hours before its
   *   next write, and everything awaiting that write stalled with it (found by test/nemesis).
   */
  constructor(
    private readonly writeNow: () => Promise<void>,
    private readonly minIntervalMs = 0,
    private readonly dutyCycle = 1,
    private readonly monotonicNow: () => number = () => performance.now(),
  ) {}

  private lastStart = Number.NEGATIVE_INFINITY;
  private lastDuration = 0;

  write(): Promise<void> {
    if (!this.inFlight) return this.start();
    if (!this.queued) {
      let settle!: (err?: unknown) => void;
      const promise = new Promise<void>((resolve, reject) => {
        settle = (err) => (err === undefined ? resolve() : reject(err));
      });
      this.queued = { promise, settle };
    }
    return this.queued.promise;
  }

  /** Resolves when nothing is pending. */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight.catch(() => undefined);
  }

  private start(): Promise<void> {
    const interval = Math.max(this.minIntervalMs, this.lastDuration / this.dutyCycle);
    // Never more than one interval, whatever the clock did since the last start.
    const wait = Math.min(interval, this.lastStart + interval - this.monotonicNow());
    const run = (wait > 0 ? new Promise<void>((r) => setTimeout(r, wait)) : Promise.resolve())
      .then(async () => {
        this.lastStart = this.monotonicNow();
        await this.writeNow();
        this.lastDuration = Math.max(0, this.monotonicNow() - this.lastStart);
      })
      .finally(() => {
        this.inFlight = undefined;
        const queued = this.queued;
        this.queued = undefined;
        if (queued) this.start().then(() => queued.settle(), (err: unknown) => queued.settle(err ?? new Error('write failed')));
      });
    this.inFlight = run;
    return run;
  }
}
