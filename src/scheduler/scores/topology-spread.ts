// PodTopologySpread for one workload: counts of its replicas per device and per domain, the
// DoNotSchedule skew check (a filter) and the ScheduleAnyway raw score, mirroring
// kube-scheduler's plugin (pkg/scheduler/framework/plugins/podtopologyspread).
//
// Which devices count: only candidates, i.e. devices that pass the static filters (online,
// not cordoned, arch/os, selector, affinity, taints) and carry every DoNotSchedule label.
// Kubernetes counts nodes matching the pod's node affinity; honouring taints and readiness too
// (nodeTaintsPolicy: Honor) keeps an offline zone from pinning the minimum at zero forever.
// A candidate without a ScheduleAnyway label is "ignored" (spread score 0, as in Kubernetes),
// unless the constraint is a system default; a device without a DoNotSchedule label is filtered.
import type { LabelIndex } from '../label-index.js';
import { reasons } from '../reasons.js';
import { maxScore } from './normalize.js';
import type { SpreadConstraint } from './spread-constraints.js';

/** The smallest count over a set of domains, maintained in O(1) as counts only grow. */
class MinTracker {
  private readonly histogram: number[] = [];
  min = 0;

  constructor(counts: Iterable<number>) {
    let min = Infinity;
    for (const c of counts) {
      this.histogram[c] = (this.histogram[c] ?? 0) + 1;
      if (c < min) min = c;
    }
    this.min = min === Infinity ? 0 : min;
  }

  increment(from: number): void {
    this.histogram[from] = (this.histogram[from] ?? 1) - 1;
    this.histogram[from + 1] = (this.histogram[from + 1] ?? 0) + 1;
    while (this.min < this.histogram.length && (this.histogram[this.min] ?? 0) === 0) this.min++;
  }
}

export interface CompiledConstraint extends SpreadConstraint {
  /** Domain per device (-1: no label, or not a candidate); undefined for the per-device level. */
  readonly domainOf: Int32Array | undefined;
  readonly domainCounts: Int32Array;
  /** kube-scheduler's topologyNormalizingWeight: log(domains + 2). */
  readonly weight: number;
  readonly min: MinTracker | undefined;
}

/** Spread score for the ignored devices, and the marker `raw` returns for them. */
export const ignoredRaw = -1;

export class SpreadState {
  readonly constraints: readonly CompiledConstraint[];
  readonly soft: readonly CompiledConstraint[];
  readonly hard: readonly CompiledConstraint[];
  /** Constraints whose domains are label values (not the per-device level). */
  readonly labelled: readonly CompiledConstraint[];
  readonly perDevice: boolean;
  readonly deviceCounts: Int32Array;
  readonly candidate: Uint8Array;
  readonly candidateCount: number;
  private readonly hardColumns: readonly { readonly name: string; readonly ids: Int32Array }[];

  /**
   * @param existing this workload's replicas already placed: device index → count
   * @param staticPass 1 for devices that pass every static filter
   */
  constructor(labels: LabelIndex, staticPass: Uint8Array, existing: ReadonlyMap<number, number>, constraints: readonly SpreadConstraint[]) {
    const n = staticPass.length;
    this.deviceCounts = new Int32Array(n);
    for (const [i, count] of existing) this.deviceCounts[i] = count;
    this.candidate = new Uint8Array(n);
    this.hardColumns = constraints.filter((c) => c.hard && c.key !== undefined).map((c) => ({ name: c.name, ids: labels.column(c.key as string).ids }));
    let candidates = 0;
    for (let i = 0; i < n; i++) {
      if (staticPass[i] !== 1) continue;
      let hasKeys = true;
      for (const h of this.hardColumns) if ((h.ids[i] as number) < 0) hasKeys = false;
      if (!hasKeys) continue;
      this.candidate[i] = 1;
      candidates++;
    }
    this.candidateCount = candidates;
    this.constraints = constraints.map((c) => this.compile(c, labels));
    this.soft = this.constraints.filter((c) => !c.hard);
    this.hard = this.constraints.filter((c) => c.hard);
    this.labelled = this.constraints.filter((c) => c.key !== undefined);
    this.perDevice = this.constraints.some((c) => c.key === undefined);
  }

  private compile(c: SpreadConstraint, labels: LabelIndex): CompiledConstraint {
    const n = this.candidate.length;
    if (c.key === undefined) {
      const counts: number[] = [];
      if (c.hard) for (let i = 0; i < n; i++) if (this.candidate[i] === 1) counts.push(this.deviceCounts[i] as number);
      return { ...c, domainOf: undefined, domainCounts: new Int32Array(0), weight: Math.log(this.candidateCount + 2), min: c.hard ? new MinTracker(counts) : undefined };
    }
    // Domains are the label values seen on candidates, numbered in device order.
    const column = labels.column(c.key);
    const domainOfValue = new Int32Array(column.values.length).fill(-1);
    const domainOf = new Int32Array(n).fill(-1);
    const counts: number[] = [];
    for (let i = 0; i < n; i++) {
      if (this.candidate[i] !== 1) continue;
      const value = column.ids[i] as number;
      if (value < 0) continue;
      let d = domainOfValue[value] as number;
      if (d < 0) {
        d = domainOfValue[value] = counts.length;
        counts.push(0);
      }
      domainOf[i] = d;
      counts[d] = (counts[d] as number) + (this.deviceCounts[i] as number);
    }
    return { ...c, domainOf, domainCounts: Int32Array.from(counts), weight: Math.log(counts.length + 2), min: c.hard ? new MinTracker(counts) : undefined };
  }

  /** For a device passing the static filters: the first DoNotSchedule label it lacks. */
  missingHardLabel(i: number): string | undefined {
    for (const h of this.hardColumns) if ((h.ids[i] as number) < 0) return reasons.missingTopologyLabel(h.name);
    return undefined;
  }

  private countFor(c: CompiledConstraint, i: number): number {
    if (c.domainOf === undefined) return this.deviceCounts[i] ?? 0;
    const d = c.domainOf[i] ?? -1;
    return d < 0 ? -1 : (c.domainCounts[d] ?? 0);
  }

  /** DoNotSchedule: placing one more replica on candidate i must keep every skew ≤ maxSkew. */
  private firstViolated(i: number): CompiledConstraint | undefined {
    for (const c of this.hard) if (this.countFor(c, i) + 1 - (c.min?.min ?? 0) > c.maxSkew) return c;
    return undefined;
  }

  /** The hot-path form: no reason text built. */
  violatesHard(i: number): boolean {
    return this.firstViolated(i) !== undefined;
  }

  hardViolation(i: number): string | undefined {
    const c = this.firstViolated(i);
    return c === undefined ? undefined : reasons.spreadSkewExceeded(c.name, c.maxSkew);
  }

  /** ScheduleAnyway raw score of candidate i (lower is better), or `ignoredRaw`. */
  raw(i: number): number {
    let s = 0;
    for (const c of this.soft) {
      const count = this.countFor(c, i);
      if (count < 0) {
        if (c.systemDefault) continue;
        return ignoredRaw;
      }
      s += count * c.weight + (c.maxSkew - 1);
    }
    return Math.round(s);
  }

  /** A replica landed on candidate i. */
  record(i: number): void {
    const before = this.deviceCounts[i] ?? 0;
    this.deviceCounts[i] = before + 1;
    for (const c of this.constraints) {
      if (c.domainOf === undefined) {
        c.min?.increment(before);
        continue;
      }
      const d = c.domainOf[i] ?? -1;
      if (d < 0) continue;
      const old = c.domainCounts[d] ?? 0;
      c.domainCounts[d] = old + 1;
      c.min?.increment(old);
    }
  }
}

/**
 * kube-scheduler's PodTopologySpread NormalizeScore: the least crowded device gets 100.
 * `min`/`max` are taken over the feasible, non-ignored devices.
 */
export function normalizeSpread(raw: number, min: number, max: number, hasSoft: boolean): number {
  if (!hasSoft || raw === ignoredRaw) return 0;
  if (max === 0) return maxScore;
  return Math.floor((maxScore * (max + min - raw)) / max);
}
