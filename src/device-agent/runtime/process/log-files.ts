import { copyFile, open, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import type { LogLine, LogOptions } from '../runtime.js';

type StreamName = LogLine['stream'];
const STREAMS: readonly StreamName[] = ['stdout', 'stderr'];
const FOLLOW_POLL_MS = 200;

export const logPath = (folder: string, stream: StreamName): string => join(folder, `${stream}.log`);
const rotatedPath = (path: string): string => `${path}.1`;

async function sizeAndMtime(path: string): Promise<{ size: number; mtimeMs: number }> {
  try {
    const info = await stat(path);
    return { size: info.size, mtimeMs: info.mtimeMs };
  } catch {
    return { size: 0, mtimeMs: 0 };
  }
}

/**
 * Copy-truncate rotation: the child holds the log open with O_APPEND, so after truncation its
 * next write lands at offset 0 of the same file; the agent never needs the child's cooperation.
 * The price (as with logrotate's copytruncate) is that lines written between the copy and the
 * truncation are lost. One rotated file (`.1`) is kept, so a stream uses at most about 2× the cap.
 */
export async function rotateIfLarger(folder: string, maxBytes: number): Promise<void> {
  for (const stream of STREAMS) {
    const path = logPath(folder, stream);
    if ((await sizeAndMtime(path)).size <= maxBytes) continue;
    await copyFile(path, rotatedPath(path));
    await truncate(path, 0);
  }
}

async function readRange(path: string, start: number, end: number): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  const file = await open(path, 'r').catch(() => undefined);
  if (file === undefined) return Buffer.alloc(0);
  try {
    const buffer = Buffer.alloc(end - start);
    const { bytesRead } = await file.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Splits one stream's bytes into lines, keeping an unterminated last line until more arrives. */
class LineCollector {
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly stream: StreamName) {}
  push(bytes: Buffer): LogLine[] {
    const pieces = (this.pending + this.decoder.write(bytes)).split('\n');
    this.pending = pieces.pop() ?? '';
    return pieces.map((text) => ({ stream: this.stream, text }));
  }
  end(): LogLine[] {
    const text = this.pending + this.decoder.end();
    this.pending = '';
    return text === '' ? [] : [{ stream: this.stream, text }];
  }
}

interface StreamCursor {
  collector: LineCollector;
  /** Bytes of the live file already read. */
  offset: number;
  /** mtime of `.1` when last looked at: a change means a rotation happened in between. */
  rotatedMtimeMs: number;
}

/**
 * Lines of a process's logs. The two streams are separate files without timestamps, so their
 * relative order is not known: `tail` applies to each stream, stdout's lines come first, and
 * following interleaves them as they are seen (every 200 ms). Following ends when the signal
 * aborts or, once the process has exited, when nothing more is written.
 */
export async function* processLogLines(folder: string, options: LogOptions, isRunning: () => Promise<boolean>): AsyncGenerator<LogLine> {
  const { signal } = options;
  const cursors = new Map<StreamName, StreamCursor>();
  for (const stream of STREAMS) {
    const path = logPath(folder, stream);
    const rotated = await sizeAndMtime(rotatedPath(path));
    const live = await sizeAndMtime(path);
    const collector = new LineCollector(stream);
    const previous = await readRange(rotatedPath(path), 0, rotated.size);
    const current = await readRange(path, 0, live.size);
    // The rotated file ends mid-line when the copy caught a half-written line: keep it whole.
    const lines = [...collector.push(previous), ...collector.push(current)];
    if (options.follow !== true) lines.push(...collector.end());
    const tail = options.tail;
    yield* tail === undefined ? lines : tail <= 0 ? [] : lines.slice(-tail);
    cursors.set(stream, { collector, offset: current.length, rotatedMtimeMs: rotated.mtimeMs });
  }
  if (options.follow !== true) return;

  while (signal?.aborted !== true) {
    const running = await isRunning();
    let readAny = false;
    for (const [stream, cursor] of cursors) {
      const path = logPath(folder, stream);
      const rotated = await sizeAndMtime(rotatedPath(path));
      const live = await sizeAndMtime(path);
      if (live.size < cursor.offset || rotated.mtimeMs !== cursor.rotatedMtimeMs) {
        // Rotated since the last look: what was written after our offset is now in `.1`.
        const missed = await readRange(rotatedPath(path), cursor.offset, rotated.size);
        readAny ||= missed.length > 0;
        yield* cursor.collector.push(missed);
        cursor.offset = 0;
        cursor.rotatedMtimeMs = rotated.mtimeMs;
      }
      const fresh = await readRange(path, cursor.offset, live.size);
      cursor.offset += fresh.length;
      readAny ||= fresh.length > 0;
      yield* cursor.collector.push(fresh);
    }
    if (!running && !readAny) break;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, FOLLOW_POLL_MS);
      signal?.addEventListener('abort', done, { once: true });
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
    });
  }
  if (signal?.aborted !== true) for (const cursor of cursors.values()) yield* cursor.collector.end();
}
