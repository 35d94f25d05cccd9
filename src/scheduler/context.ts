// The per-workload work done once: static filters over every device, static scores normalised
// over the candidates, and the spread counts. Both the incremental scheduler (session.ts) and
// the reference scheduler (reference.ts) build on it, so they share every filter and formula.
import type { CompiledDevice, DeviceUsage } from './device.js';
import type { CompiledWorkload } from './workload.js';
import type { Placement, Unplaced } from './types.js';
import { firstDynamicFailure, firstStaticFailure } from './filters/index.js';
import { placeOn } from './commit.js';
import { formatUnfitSummary, tallyReasons } from './reasons.js';
import { SpreadState } from './scores/topology-spread.js';
import { maxScore, normalizeToMax } from './scores/normalize.js';
import { preferredAffinityRaw } from './scores/affinity.js';
import { intolerablePreferNoScheduleCount } from './scores/taints.js';
import type { LabelIndex } from './label-index.js';
import { resourceScore } from './scores/resources.js';
import { scoreWeights } from './scores/weights.js';

/** The compiled fleet: devices sorted by id (so index order is the tie-break) and their usage. */
export interface FleetView {
  readonly devices: readonly CompiledDevice[];
  readonly usage: readonly DeviceUsage[];
  /** Device i's usage to record a placement on (a fleet's own copy: usage may be shared with other fleets). */
  writableUsage(i: number): DeviceUsage;
  readonly now: number;
  readonly labels: LabelIndex;
  /** Indices of the devices holding this (normalised) image. */
  imageHolders(image: string): readonly number[];
  /** A workload's replicas: device index → count. */
  replicasOf(workload: string): ReadonlyMap<number, number>;
  recordReplica(workload: string, device: number): void;
}

export class WorkloadContext {
  /** First failing static filter per device, undefined when it passes them all. */
  readonly staticReason: (string | undefined)[];
  readonly spread: SpreadState;
  /** Normalised 0..100 per device; meaningful for candidates only. */
  readonly affinityScore: Uint8Array;
  readonly taintScore: Uint8Array;
  readonly imageScore: Uint8Array;
  /** Weighted sum of the three static scores. */
  readonly staticScore: Int32Array;

  constructor(
    readonly fleet: FleetView,
    readonly workload: CompiledWorkload,
  ) {
    const { devices, now } = fleet;
    const n = devices.length;
    this.staticReason = new Array<string | undefined>(n);
    const staticPass = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const reason = firstStaticFailure(devices[i] as CompiledDevice, workload, now);
      this.staticReason[i] = reason;
      if (reason === undefined) staticPass[i] = 1;
    }
    this.spread = new SpreadState(fleet.labels, staticPass, fleet.replicasOf(workload.name), workload.spread);
    this.affinityScore = new Uint8Array(n);
    this.taintScore = new Uint8Array(n);
    this.imageScore = new Uint8Array(n);
    this.staticScore = new Int32Array(n);
    this.scoreStatics(devices);
  }

  /**
   * Kubernetes normalises affinity and taint scores over the nodes feasible in each cycle; they
   * are normalised here once, over the candidates, so they stay fixed during a batch (they differ
   * only when the best-matching device fills up mid-batch).
   */
  private scoreStatics(devices: readonly CompiledDevice[]): void {
    const { candidate } = this.spread;
    const w = this.workload;
    const hasPreferred = w.preferred.length > 0;
    const affinityRaw = new Int32Array(devices.length);
    const taintRaw = new Int32Array(devices.length);
    let maxAffinity = 0;
    let maxTaint = 0;
    if (w.image !== undefined) {
      // Scaled by the share of candidates holding the image, as kube-scheduler's ImageLocality
      // does: one device that pulled it once must not outweigh spreading (two equal devices
      // otherwise got replicas 2/0 and, for four, 3/1). An image every candidate holds still
      // scores the maximum; an image no candidate holds scores 0 everywhere.
      const holders = this.fleet.imageHolders(w.image).filter((i) => candidate[i] === 1);
      const score = this.spread.candidateCount === 0 ? 0 : Math.floor((maxScore * holders.length) / this.spread.candidateCount);
      for (const i of holders) this.imageScore[i] = score;
    }
    for (let i = 0; i < devices.length; i++) {
      if (candidate[i] !== 1) continue;
      const d = devices[i] as CompiledDevice;
      if (hasPreferred) maxAffinity = Math.max(maxAffinity, (affinityRaw[i] = preferredAffinityRaw(d, w)));
      if (d.taints.length > 0) maxTaint = Math.max(maxTaint, (taintRaw[i] = intolerablePreferNoScheduleCount(d, w)));
    }
    for (let i = 0; i < devices.length; i++) {
      if (candidate[i] !== 1) continue;
      const a = normalizeToMax(affinityRaw[i] ?? 0, maxAffinity, false);
      const t = normalizeToMax(taintRaw[i] ?? 0, maxTaint, true);
      const m = this.imageScore[i] as number;
      this.affinityScore[i] = a;
      this.taintScore[i] = t;
      this.staticScore[i] = scoreWeights.preferredAffinity * a + scoreWeights.taintToleration * t + scoreWeights.imageLocality * m;
    }
  }

  dynamicReason(i: number): string | undefined {
    return firstDynamicFailure(this.fleet.devices[i] as CompiledDevice, this.fleet.usage[i] as DeviceUsage, this.workload);
  }

  resourceScore(i: number): number {
    return resourceScore(this.fleet.devices[i] as CompiledDevice, this.fleet.usage[i] as DeviceUsage, this.workload);
  }

  /** Everything but the spread score, which depends on the other devices. */
  partialScore(i: number): number {
    return scoreWeights.resources * this.resourceScore(i) + (this.staticScore[i] ?? 0);
  }

  /** The first failing filter in the fixed order, against the current state. */
  firstFailure(i: number): string | undefined {
    const s = this.staticReason[i];
    if (s !== undefined) return s;
    const d = this.dynamicReason(i);
    if (d !== undefined) return d;
    if (this.spread.candidate[i] !== 1) return this.spread.missingHardLabel(i);
    return this.spread.hardViolation(i);
  }

  /** Places one replica on device i: claims peripherals, records the load and the spread counts. */
  commit(i: number): Placement {
    const placement = placeOn(this.fleet.devices[i] as CompiledDevice, this.fleet.writableUsage(i), this.workload);
    this.spread.record(i);
    this.fleet.recordReplica(this.workload.name, i);
    return placement;
  }

  /** Why nothing fits now, counted once per device under its first failing filter. */
  unfit(replicas: number): Unplaced {
    const n = this.fleet.devices.length;
    const perDevice = new Array<string | undefined>(n);
    let fitting = 0;
    for (let i = 0; i < n; i++) if ((perDevice[i] = this.firstFailure(i)) === undefined) fitting++;
    const causes = tallyReasons(perDevice);
    return { replicas, summary: formatUnfitSummary(fitting, n, causes), causes };
  }
}
