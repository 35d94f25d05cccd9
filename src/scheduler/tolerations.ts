// Taint/toleration matching as Kubernetes' v1.Toleration.ToleratesTaint, plus the NoExecute
// time bound: a toleration with tolerationSeconds tolerates only until addedAt + seconds
// (the taint manager's behaviour), which the scheduler also honours when choosing a device.
import type { TaintEffect, Toleration } from '../protocol/index.js';

export interface CompiledTaint {
  readonly key: string;
  readonly value: string;
  readonly effect: TaintEffect;
  /** Epoch ms from the taint's `addedAt`; undefined when the hub did not record it. */
  readonly addedAtMs: number | undefined;
}

export function tolerationMatches(t: Toleration, taint: CompiledTaint): boolean {
  if (t.effect !== undefined && t.effect !== taint.effect) return false;
  // An empty key with Exists tolerates every taint (Kubernetes: "tolerate everything").
  if (t.key !== undefined && t.key !== taint.key) return false;
  return t.operator === 'Exists' || t.value === taint.value;
}

/**
 * Until when (epoch ms) the taint is tolerated: Infinity for ever, -Infinity not at all.
 * For a NoExecute taint without `addedAt` the clock starts at `fallbackStartMs` (the taint
 * manager likewise counts from when it first sees the taint).
 */
export function toleratedUntil(tolerations: readonly Toleration[], taint: CompiledTaint, fallbackStartMs: number): number {
  let until = -Infinity;
  for (const t of tolerations) {
    if (!tolerationMatches(t, taint)) continue;
    if (taint.effect !== 'NoExecute' || t.tolerationSeconds === undefined) return Infinity;
    // Kubernetes treats zero and negative seconds as "evict immediately".
    const end = (taint.addedAtMs ?? fallbackStartMs) + Math.max(0, t.tolerationSeconds) * 1000;
    if (end > until) until = end;
  }
  return until;
}

/** Whether a NoSchedule/NoExecute taint keeps the workload off the device at `now`. */
export function taintRepels(tolerations: readonly Toleration[], taint: CompiledTaint, now: number): boolean {
  if (taint.effect === 'PreferNoSchedule') return false;
  return toleratedUntil(tolerations, taint, now) <= now;
}

export function parseTimeMs(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : ms;
}
