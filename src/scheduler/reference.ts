// The reference scheduler: for every replica, run every filter and score on every device, as
// kube-scheduler's cycle does. O(replicas × devices). It exists as the oracle the incremental
// session is tested against (same input → same placements) and as the bench's baseline.
import type { WorkloadContext } from './context.js';
import type { FleetState } from './fleet.js';
import type { PlacementRequest, PlacementResult, Placement } from './types.js';
import { ignoredRaw, normalizeSpread } from './scores/topology-spread.js';
import { scoreWeights } from './scores/weights.js';

/** Total score of every device that fits now; -1 for the others. */
export function scoreAllDevices(ctx: WorkloadContext): Int32Array {
  const n = ctx.fleet.devices.length;
  const { spread } = ctx;
  const hasSoft = spread.soft.length > 0;
  const raw = new Int32Array(n).fill(ignoredRaw);
  const feasible: number[] = [];
  let min = Infinity;
  let max = 0;
  for (let i = 0; i < n; i++) {
    if (spread.candidate[i] !== 1 || ctx.dynamicReason(i) !== undefined || spread.violatesHard(i)) continue;
    feasible.push(i);
    if (!hasSoft) continue;
    const r = (raw[i] = spread.raw(i));
    if (r === ignoredRaw) continue;
    if (r < min) min = r;
    if (r > max) max = r;
  }
  const totals = new Int32Array(n).fill(-1);
  for (const i of feasible) {
    totals[i] = scoreWeights.topologySpread * normalizeSpread(raw[i] as number, min, max, hasSoft) + ctx.partialScore(i);
  }
  return totals;
}

/** Same contract as FleetState.place, computed the slow way (and recorded into `fleet`). */
export function referencePlace(fleet: FleetState, request: PlacementRequest): PlacementResult {
  const placements: Placement[] = [];
  if (request.replicas <= 0) return { workload: request.name, placements, unplaced: undefined };
  const ctx = fleet.prepare(request);
  while (placements.length < request.replicas) {
    const totals = scoreAllDevices(ctx);
    let best = -1;
    for (let i = 0; i < totals.length; i++) if ((totals[i] as number) > (best < 0 ? -1 : (totals[best] as number))) best = i;
    if (best < 0) break;
    placements.push(ctx.commit(best));
  }
  const missing = request.replicas - placements.length;
  return { workload: request.name, placements, unplaced: missing > 0 ? ctx.unfit(missing) : undefined };
}
