import { join } from 'node:path';
import * as z from 'zod';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { desiredStateSchema, type DesiredState } from '../../protocol/index.js';
import type { InstanceRecord } from './model.js';

const recordSchema = z.object({
  id: z.string(),
  workload: z.string(),
  revision: z.string().optional(),
  restarts: z.number().int().nonnegative(),
  crashStreak: z.number().int().nonnegative(),
  lastStartedAt: z.number().optional(),
  lastExitAt: z.number().optional(),
  lastExitCode: z.number().int().nullable().optional(),
  lastExitKey: z.string().optional(),
  nextStartAt: z.number().optional(),
  lastError: z.string().optional(),
  lastLogLines: z.array(z.string()).optional(),
  restartRequested: z.boolean().optional(),
  configRevision: z.string().optional(),
});

/**
 * The agent's memory across reboots, without the hub: the last desired document and the
 * per-instance bookkeeping, each written durably. A damaged file is reported and ignored
 * (the hub will send the desired state again), never allowed to stop the agent.
 */
export class LocalState {
  constructor(
    private readonly stateDir: string,
    private readonly warn: (message: string) => void,
  ) {}

  private get desiredPath(): string {
    return join(this.stateDir, 'desired.json');
  }

  private get recordsPath(): string {
    return join(this.stateDir, 'instances.json');
  }

  async loadDesired(): Promise<DesiredState | undefined> {
    const text = await readFileIfExists(this.desiredPath);
    if (text === undefined) return undefined;
    try {
      const parsed = desiredStateSchema.safeParse(JSON.parse(text));
      if (parsed.success) return parsed.data;
      this.warn(`${this.desiredPath} is not a valid desired state; waiting for the hub`);
    } catch {
      this.warn(`${this.desiredPath} is not JSON; waiting for the hub`);
    }
    return undefined;
  }

  saveDesired(desired: DesiredState): Promise<void> {
    return writeFileDurably(this.desiredPath, JSON.stringify(desired));
  }

  async loadRecords(): Promise<Map<string, InstanceRecord>> {
    const text = await readFileIfExists(this.recordsPath);
    if (text === undefined) return new Map();
    try {
      const parsed = z.array(recordSchema).safeParse(JSON.parse(text));
      if (parsed.success) return new Map(parsed.data.map((r) => [r.id, r as InstanceRecord]));
    } catch {
      // fall through
    }
    this.warn(`${this.recordsPath} is damaged; restart counts start from zero`);
    return new Map();
  }

  saveRecords(records: ReadonlyMap<string, InstanceRecord>): Promise<void> {
    return writeFileDurably(this.recordsPath, JSON.stringify([...records.values()]));
  }
}
