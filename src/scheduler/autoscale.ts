// Replica count for an autoscaled workload, following the Kubernetes HorizontalPodAutoscaler
// (pkg/controller/podautoscaler): desired = ceil(current × currentAverage / target), nothing
// within a 10 % tolerance band, missing samples assumed at 0 when scaling up and at the target
// when scaling down, then the scale-down stabilization window: the result is the highest
// recommendation made within the window, so scale-up is immediate and scale-down waits until
// every recent recommendation agrees. Pure: the recommendation history goes in and comes out.
import type { Autoscale } from '../protocol/index.js';

/** HPA's --horizontal-pod-autoscaler-tolerance default. */
export const autoscaleTolerance = 0.1;

export interface Recommendation {
  /** Epoch ms. */
  readonly at: number;
  readonly replicas: number;
}

export interface AutoscaleInput {
  readonly autoscale: Autoscale;
  readonly currentReplicas: number;
  /**
   * One value per replica that reported, in the target's unit: CPU percent of the replica's CPU
   * request for `targetCPUPercent`, the metric's value for `metric`. Replicas without a sample
   * count as missing.
   */
  readonly samples: readonly number[];
  readonly history: readonly Recommendation[];
  readonly now: number;
}

export interface AutoscaleDecision {
  readonly desired: number;
  /** This round's raw recommendation (before stabilization and clamping). */
  readonly recommendation: number | undefined;
  /** Pass back next time. Entries older than the window are dropped. */
  readonly history: readonly Recommendation[];
  readonly reason: string;
}

function target(a: Autoscale): number {
  return a.targetCPUPercent ?? a.metric?.targetAverage ?? 1;
}

/** The raw recommendation from the samples; undefined when there are none. */
export function recommendReplicas(current: number, samples: readonly number[], targetValue: number): number | undefined {
  if (samples.length === 0) return undefined;
  let sum = 0;
  for (const s of samples) sum += s;
  const ratio = sum / samples.length / targetValue;
  const missing = current - samples.length;
  if (missing <= 0) return Math.abs(1 - ratio) <= autoscaleTolerance ? current : Math.ceil(ratio * samples.length);
  // Missing replicas (starting, or not reporting) dampen the move, as HPA does.
  if (Math.abs(1 - ratio) <= autoscaleTolerance) return current;
  const assumed = ratio > 1 ? 0 : targetValue;
  const newRatio = (sum + missing * assumed) / current / targetValue;
  if (Math.abs(1 - newRatio) <= autoscaleTolerance || (ratio > 1) !== (newRatio > 1)) return current;
  return Math.ceil(newRatio * current);
}

export function decideReplicas(input: AutoscaleInput): AutoscaleDecision {
  const { autoscale: a, currentReplicas: current, now } = input;
  const cutoff = now - a.stabilizationSeconds * 1000;
  const recent = input.history.filter((r) => r.at > cutoff);
  // HPA: a workload scaled to zero by hand has autoscaling paused; out-of-range counts are
  // corrected before looking at metrics.
  if (current === 0) return { desired: 0, recommendation: undefined, history: recent, reason: 'scaled to zero: autoscaling paused' };
  if (current > a.max) return { desired: a.max, recommendation: undefined, history: recent, reason: `above max ${a.max}` };
  if (current < a.min) return { desired: a.min, recommendation: undefined, history: recent, reason: `below min ${a.min}` };
  const recommendation = recommendReplicas(current, input.samples, target(a));
  if (recommendation === undefined) return { desired: current, recommendation, history: recent, reason: 'no metrics: unchanged' };
  let stabilized = recommendation;
  for (const r of recent) if (r.replicas > stabilized) stabilized = r.replicas;
  const desired = Math.min(a.max, Math.max(a.min, stabilized));
  const history = [...recent, { at: now, replicas: recommendation }];
  let reason: string;
  if (stabilized > recommendation) reason = `scale-down held by the ${a.stabilizationSeconds}s stabilization window at ${stabilized}`;
  else if (recommendation === current) reason = 'within tolerance';
  else reason = recommendation > current ? `scale up to ${recommendation}` : `scale down to ${recommendation}`;
  if (desired !== stabilized) reason += `, clamped to [${a.min}, ${a.max}]`;
  return { desired, recommendation, history, reason };
}
