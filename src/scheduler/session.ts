// Incremental placement of one workload's replicas.
//
// Every candidate that fits is kept in a group of devices that share the same spread state:
// the same domain in every labelled topology constraint (the "tuple") and, when per-device
// spreading is on, the same number of this workload's replicas. Within a group the spread
// score and the DoNotSchedule verdict are identical, so the best device of a group is the top
// of a heap ordered by the rest of the score (resources + affinity + taints + image). Choosing
// a replica therefore costs one pass over the groups (few: zones × small counts), not over the
// devices; after it lands only that device moves (to the group with count + 1) and only its
// resource score changes. Normalising the spread score over the feasible groups reproduces
// kube-scheduler's per-cycle NormalizeScore exactly (reference.ts checks this in tests).
import type { WorkloadContext } from './context.js';
import type { Placement, PlacementResult } from './types.js';
import { DeviceHeap } from './device-heap.js';
import { ignoredRaw, normalizeSpread } from './scores/topology-spread.js';
import { scoreWeights } from './scores/weights.js';

interface Group {
  readonly heap: DeviceHeap;
  /** Spread raw score of this group in the current round. */
  raw: number;
  blocked: boolean;
  /** Whether the group is in `groups` (the scan list); emptied groups leave it. */
  listed: boolean;
}

export class PlacementSession {
  private readonly partial: Int32Array;
  private readonly tupleOf: Int32Array;
  private readonly groupsByTuple: Map<number, Group>[] = [];
  /** Non-empty groups (an emptied one is dropped at the next scan, re-added when it refills). */
  private readonly groups: Group[] = [];
  private readonly placements: Placement[] = [];
  private exhausted = false;

  constructor(
    private readonly ctx: WorkloadContext,
    private readonly replicas: number,
  ) {
    const n = ctx.fleet.devices.length;
    const { candidate, labelled } = ctx.spread;
    this.partial = new Int32Array(n);
    this.tupleOf = new Int32Array(n);
    // A device's domains as one key: a mixed-radix number over the constraints' domain counts,
    // or a string when that number would not be exact (several constraints with many domains).
    const tuples = new Map<number | string, number>();
    const radix = labelled.reduce((p, c) => p * (c.domainCounts.length + 1), 1);
    const exact = radix <= Number.MAX_SAFE_INTEGER;
    for (let i = 0; i < n; i++) {
      if (candidate[i] !== 1) continue;
      if (labelled.length > 0) {
        let key: number | string = exact ? 0 : '';
        for (const c of labelled) {
          const d = (c.domainOf?.[i] ?? -1) + 1;
          key = typeof key === 'number' ? key * (c.domainCounts.length + 1) + d : `${key}${d},`;
        }
        let t = tuples.get(key);
        if (t === undefined) tuples.set(key, (t = tuples.size));
        this.tupleOf[i] = t;
      }
      if (ctx.dynamicReason(i) !== undefined) continue;
      this.partial[i] = ctx.partialScore(i);
      this.insert(i, false);
    }
    for (const g of this.groups) g.heap.heapify();
  }

  private insert(i: number, ordered = true): void {
    const tuple = this.tupleOf[i] as number;
    const count = this.ctx.spread.perDevice ? (this.ctx.spread.deviceCounts[i] as number) : 0;
    let byCount = this.groupsByTuple[tuple];
    if (!byCount) this.groupsByTuple[tuple] = byCount = new Map();
    let group = byCount.get(count);
    if (!group) {
      group = { heap: new DeviceHeap(this.partial), raw: 0, blocked: false, listed: false };
      byCount.set(count, group);
    }
    if (!group.listed) {
      group.listed = true;
      this.groups.push(group);
    }
    if (ordered) group.heap.push(i);
    else group.heap.append(i);
  }

  get placed(): number {
    return this.placements.length;
  }

  /** Places the next replica; undefined when all are placed or no device fits. */
  next(): Placement | undefined {
    if (this.exhausted || this.placements.length >= this.replicas) return undefined;
    const spread = this.ctx.spread;
    const hasSoft = spread.soft.length > 0;
    const hasHard = spread.hard.length > 0;
    let min = Infinity;
    let max = 0;
    const groups = this.groups;
    for (let k = groups.length - 1; k >= 0; k--) {
      const g = groups[k] as Group;
      const top = g.heap.peek();
      if (top < 0) {
        // Swap-remove: scan order does not matter, ties are broken by device index.
        g.listed = false;
        groups[k] = groups[groups.length - 1] as Group;
        groups.pop();
        continue;
      }
      g.blocked = hasHard && spread.violatesHard(top);
      if (g.blocked || !hasSoft) continue;
      const raw = (g.raw = spread.raw(top));
      if (raw === ignoredRaw) continue;
      if (raw < min) min = raw;
      if (raw > max) max = raw;
    }
    let best: Group | undefined;
    let bestTop = -1;
    let bestTotal = -1;
    for (const g of this.groups) {
      if (g.blocked) continue;
      const top = g.heap.peek();
      const total = scoreWeights.topologySpread * normalizeSpread(g.raw, min, max, hasSoft) + (this.partial[top] as number);
      if (total > bestTotal || (total === bestTotal && top < bestTop)) {
        best = g;
        bestTop = top;
        bestTotal = total;
      }
    }
    if (!best) {
      this.exhausted = true;
      return undefined;
    }
    const i = best.heap.pop();
    const placement = this.ctx.commit(i);
    this.placements.push(placement);
    if (this.ctx.dynamicReason(i) === undefined) {
      this.partial[i] = this.ctx.partialScore(i);
      this.insert(i);
    }
    return placement;
  }

  /** Places what is left and reports. */
  finish(): PlacementResult {
    while (this.next() !== undefined);
    const missing = this.replicas - this.placements.length;
    return {
      workload: this.ctx.workload.name,
      placements: this.placements,
      unplaced: missing > 0 ? this.ctx.unfit(missing) : undefined,
    };
  }
}
