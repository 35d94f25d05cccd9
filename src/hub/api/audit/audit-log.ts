import { open, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, readFileIfExists } from '../../../common/durable-file.js';
import { auditEntrySchema, type AuditEntry, type AuditQuery } from '../../../protocol/index.js';

export interface AuditLogOptions {
  /** The current file is rotated to `audit.1.jsonl` past this size: at most twice this on disk. */
  maxBytes: number;
}

export const defaultAuditLogOptions: AuditLogOptions = { maxBytes: 8 * 1024 * 1024 };

const CURRENT = 'audit.jsonl';
const PREVIOUS = 'audit.1.jsonl';

/** Where the API's writes are recorded: this hub's file (AuditLog), or the log every hub shares. */
export interface AuditTrail {
  /** Resolves once the entry is durable (the API answers after it). */
  append(entry: AuditEntry): Promise<void>;
  read(query: AuditQuery): Promise<AuditEntry[]>;
  close(): Promise<void>;
}

/** The audit log several hubs share (their store's); each entry names the hub that answered. */
export function sharedAuditTrail(shared: { append(entry: AuditEntry): Promise<void>; read(query: AuditQuery): Promise<AuditEntry[]> }, hub: string): AuditTrail {
  return {
    append: (entry) => shared.append({ ...entry, hub }),
    read: (query) => shared.read(query),
    close: async () => undefined,
  };
}

/**
 * The record of every write through the API, one JSON line per entry. `append` resolves once the
 * line is on disk (fdatasync), and the API waits for it before answering, so an acknowledged
 * write is never missing from the log. Appends that arrive while a sync runs share the next one.
 * Bounded: past `maxBytes` the file becomes `audit.1.jsonl` (replacing the older one).
 */
export class AuditLog implements AuditTrail {
  private pending: { line: string; settle: (err?: unknown) => void }[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;
  /** The file may end in a torn line (a crash, a failed write): the next write starts a new line. */
  private startNewLine = false;

  private constructor(
    private readonly folder: string,
    private file: FileHandle,
    private size: number,
    private readonly options: AuditLogOptions,
  ) {}

  static async open(folder: string, options: AuditLogOptions = defaultAuditLogOptions): Promise<AuditLog> {
    await ensureDir(folder);
    const path = join(folder, CURRENT);
    const file = await open(path, 'a', 0o600);
    const { size } = await file.stat();
    const log = new AuditLog(folder, file, size, options);
    if (size > 0) {
      const last = (await readFileIfExists(path))?.slice(-1);
      log.startNewLine = last !== '\n';
    }
    return log;
  }

  append(entry: AuditEntry): Promise<void> {
    if (this.closed) return Promise.reject(new Error('audit log is closed'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line: `${JSON.stringify(entry)}\n`, settle: (err) => (err === undefined ? resolve() : reject(err)) });
      this.writing ??= this.drain();
    });
  }

  /** Entries oldest first, filtered; at most `limit`, the newest ones. */
  async read(query: AuditQuery): Promise<AuditEntry[]> {
    const since = query.since ? Date.parse(query.since) : undefined;
    const entries: AuditEntry[] = [];
    for (const name of [PREVIOUS, CURRENT]) {
      const text = (await readFileIfExists(join(this.folder, name))) ?? '';
      for (const line of text.split('\n')) {
        if (line === '') continue;
        // A line torn by a crash mid-write (never acknowledged) is skipped, not fatal.
        const parsed = auditEntrySchema.safeParse(safeJson(line));
        if (!parsed.success) continue;
        const entry = parsed.data;
        if (query.who !== undefined && entry.who !== query.who) continue;
        if (since !== undefined && Date.parse(entry.time) < since) continue;
        entries.push(entry);
      }
    }
    return entries.slice(-query.limit);
  }

  async close(): Promise<void> {
    this.closed = true;
    while (this.writing) await this.writing;
    await this.file.close();
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          const text = (this.startNewLine ? '\n' : '') + batch.map((p) => p.line).join('');
          this.startNewLine = true;
          await this.file.write(text);
          this.startNewLine = false;
          await this.file.datasync();
          this.size += Buffer.byteLength(text);
          for (const p of batch) p.settle();
        } catch (err) {
          for (const p of batch) p.settle(err ?? new Error('audit write failed'));
        }
        if (this.size > this.options.maxBytes) await this.rotate();
      }
    } finally {
      this.writing = undefined;
    }
  }

  /**
   * Renamed while open (the handle then writes to the older file until swapped), so a failure at
   * any step leaves a file taking entries; the folder is synced so the rename is on disk.
   */
  private async rotate(): Promise<void> {
    try {
      await rename(join(this.folder, CURRENT), join(this.folder, PREVIOUS));
      const older = this.file;
      this.file = await open(join(this.folder, CURRENT), 'a', 0o600);
      this.size = 0;
      await older.close();
      const dir = await open(this.folder, 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // Rotation is retried after the next append; the log keeps growing meanwhile.
    }
  }
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    return undefined;
  }
}
