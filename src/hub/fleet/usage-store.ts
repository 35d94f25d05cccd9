import type { MetricsSample } from '../../protocol/index.js';

/**
 * The latest usage sample of each device, in memory only: samples are frequent, lose their
 * value in a minute, and are sent again after a hub restart.
 */
export class UsageStore {
  private readonly latest = new Map<string, { sample: MetricsSample; receivedAt: number }>();

  record(deviceId: string, sample: MetricsSample, now: number): void {
    this.latest.set(deviceId, { sample, receivedAt: now });
  }

  /** Samples no older than `maxAgeMs`. */
  fresh(now: number, maxAgeMs: number): Map<string, MetricsSample> {
    const out = new Map<string, MetricsSample>();
    for (const [id, entry] of this.latest) if (now - entry.receivedAt <= maxAgeMs) out.set(id, entry.sample);
    return out;
  }

  forget(deviceId: string): void {
    this.latest.delete(deviceId);
  }
}
