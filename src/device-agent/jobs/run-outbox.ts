import { JOB_RUNS_PER_MESSAGE, payloadLimits, type JobRunRecord } from '../../protocol/index.js';

const BATCH_BYTES = Math.floor(payloadLimits.runs * 0.75);
import type { JobStateFile } from './job-state.js';
import { errorMessage } from '../../common/errors.js';

/**
 * Sends run records to the hub and forgets them only when the hub acknowledges them on
 * `ep/v1/d/<id>/runs/ack`, which it publishes after the records are in its store. A QoS 1 PUBACK is not
 * enough: it comes from the broker, before the hub has written anything (and with an external broker the
 * hub may not even be running). Until acknowledged a record is resent on every (re)connection and every
 * `resendMs` while connected; the hub stores by record id, so a duplicate costs nothing.
 */
export interface OutboxDeps {
  state: JobStateFile;
  /** Publishes one message with QoS 1; false when not connected. */
  publish(records: JobRunRecord[]): Promise<boolean>;
  connected(): boolean;
  resendMs: number;
  log: { debug(m: string): void; warn(m: string): void };
}

export class RunOutbox {
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> | undefined;
  private again = false;

  constructor(private readonly deps: OutboxDeps) {}

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.deps.resendMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Durable first, then sent (if connected). */
  async add(records: JobRunRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.deps.state.addRecords(records);
    void this.flush();
  }

  async acknowledged(ids: readonly string[]): Promise<void> {
    const removed = await this.deps.state.acknowledge(ids);
    if (removed > 0) this.deps.log.debug(`hub acknowledged ${removed} run record(s)`);
  }

  /** Sends everything pending; one send at a time, a call during a send sends once more afterwards. */
  flush(): Promise<void> {
    if (this.sending) {
      this.again = true;
      return this.sending;
    }
    this.sending = this.sendAll().finally(() => {
      this.sending = undefined;
      if (this.again) {
        this.again = false;
        void this.flush();
      }
    });
    return this.sending;
  }

  private async sendAll(): Promise<void> {
    for (const batch of batches(this.deps.state.snapshot.outbox)) {
      if (!this.deps.connected()) return;
      try {
        if (!(await this.deps.publish(batch))) return;
      } catch (err) {
        this.deps.log.warn(`sending run records failed: ${errorMessage(err)}`);
        return;
      }
    }
  }
}

/** Messages of at most 50 records and well under the channel's payload limit. */
export function batches(records: readonly JobRunRecord[]): JobRunRecord[][] {
  const out: JobRunRecord[][] = [];
  let current: JobRunRecord[] = [];
  let bytes = 0;
  for (const record of records) {
    const size = Buffer.byteLength(JSON.stringify(record));
    if (current.length > 0 && (current.length >= JOB_RUNS_PER_MESSAGE || bytes + size > BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(record);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
