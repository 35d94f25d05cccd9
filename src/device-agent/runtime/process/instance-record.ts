import { join } from 'node:path';
import * as z from 'zod';
import { readFileIfExists, writeFileDurably } from '../../../common/durable-file.js';
import type { ObservedInstance } from '../runtime.js';

/**
 * `instance.json`, the pid file of one process instance. It is what lets a restarted agent find
 * (adopt) what it started before: the pid alone is not enough because pids are reused, so the
 * process start time from /proc is kept with it. The exit is recorded here too, so `list()` still
 * reports the exit code after the fact. The environment is kept for exec probes after adoption
 * (the file is 0600, like everything else in the agent's state folder).
 */
export const instanceRecordSchema = z.object({
  id: z.string(),
  workload: z.string(),
  revision: z.string(),
  deviceId: z.string(),
  pid: z.number().int().positive(),
  /** /proc/<pid>/stat field 22; null only if the process was gone before it could be read. */
  startTime: z.string().regex(/^\d+$/).nullable(),
  /** The full argv: template command followed by its args. */
  argv: z.array(z.string()).min(1),
  env: z.record(z.string(), z.string()),
  workingDir: z.string().optional(),
  startedAt: z.iso.datetime(),
  /**
   * The pid is a gate that runs the program only once released (see launch.ts); true for every
   * record written since. Absent in older records, whose program ran from the moment of spawning.
   */
  gated: z.boolean().optional(),
  exit: z
    .object({
      /** Exit status, or 128 + signal number when killed (like a shell or Docker); null when unknowable. */
      code: z.number().int().nullable(),
      signal: z.string().nullable(),
      finishedAt: z.iso.datetime(),
    })
    .optional(),
});
export type InstanceRecord = z.infer<typeof instanceRecordSchema>;

export const RECORD_FILE = 'instance.json';

export function writeRecord(folder: string, record: InstanceRecord): Promise<void> {
  return writeFileDurably(join(folder, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/** The record in `folder`, undefined if there is none, or an Error describing a damaged one. */
export async function readRecord(folder: string): Promise<InstanceRecord | Error | undefined> {
  const text = await readFileIfExists(join(folder, RECORD_FILE));
  if (text === undefined) return undefined;
  try {
    const parsed = instanceRecordSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : new Error(parsed.error.message);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** What the reconciler sees of a record (a process is running until its exit is recorded). */
export function observedFromRecord(record: InstanceRecord): ObservedInstance {
  return {
    id: record.id,
    workload: record.workload,
    revision: record.revision,
    runtime: 'process',
    state: record.exit === undefined ? 'running' : 'exited',
    pid: record.pid,
    startedAt: new Date(record.startedAt),
    ...(record.exit !== undefined ? { exitCode: record.exit.code, finishedAt: new Date(record.exit.finishedAt) } : {}),
  };
}
