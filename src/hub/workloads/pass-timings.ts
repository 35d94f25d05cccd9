// How long the desired-state controller's passes take, kept for `/v1/stats` (and the fleet
// benchmark): the whole pass and the placement part of it, over the most recent passes.

export interface PassTiming {
  /** The whole pass: store reads, placement, desired documents, store writes, publishes. */
  totalMs: number;
  /** `runPlacementPass` alone. */
  placementMs: number;
  devices: number;
  workloads: number;
  /** Desired documents published by the pass (devices whose instances changed). */
  published: number;
}

export interface PassTimingSummary {
  count: number;
  last?: PassTiming;
  /** Over the most recent passes (at most `RECENT`). */
  recent: { passes: number; p50TotalMs: number; maxTotalMs: number; p50PlacementMs: number; maxPlacementMs: number };
}

const RECENT = 100;

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

export class PassTimings {
  private count = 0;
  private readonly recent: PassTiming[] = [];
  private readonly listeners = new Set<(timing: PassTiming) => void>();

  /** Calls `listener` with every pass recorded from now on (the hub's metrics). */
  onRecord(listener: (timing: PassTiming) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  record(timing: PassTiming): void {
    for (const listener of this.listeners) listener(timing);
    this.count += 1;
    this.recent.push(timing);
    if (this.recent.length > RECENT) this.recent.shift();
  }

  summary(): PassTimingSummary {
    const totals = this.recent.map((t) => t.totalMs);
    const placements = this.recent.map((t) => t.placementMs);
    const last = this.recent.at(-1);
    return {
      count: this.count,
      ...(last ? { last: { ...last } } : {}),
      recent: {
        passes: this.recent.length,
        p50TotalMs: median(totals),
        maxTotalMs: Math.max(0, ...totals),
        p50PlacementMs: median(placements),
        maxPlacementMs: Math.max(0, ...placements),
      },
    };
  }
}
