// `edgepilot describe`: why a device would or would not receive the workload's next replica.
// Unlike the placement summary (first failing filter only), every filter is run so that a
// technician sees all that stands in the way.
import type { DeviceSnapshot } from './snapshot.js';
import type { SchedulerOptions } from './options.js';
import type { PlacementRequest } from './types.js';
import type { CompiledDevice, DeviceUsage } from './device.js';
import { FleetState } from './fleet.js';
import { dynamicFilters, staticFilters, topologySpreadFilterName } from './filters/index.js';
import { scoreAllDevices } from './reference.js';
import { scoreWeights } from './scores/weights.js';

export interface FilterVerdict {
  readonly filter: string;
  readonly passed: boolean;
  readonly reason?: string;
}

/** Each score normalised 0..100 (before weighting), and the weighted total. */
export interface ScoreBreakdown {
  readonly topologySpread: number;
  readonly resources: number;
  readonly preferredAffinity: number;
  readonly taintToleration: number;
  readonly imageLocality: number;
  readonly total: number;
}

export interface DeviceExplanation {
  readonly deviceId: string;
  readonly workload: string;
  readonly fits: boolean;
  readonly filters: readonly FilterVerdict[];
  readonly scores: ScoreBreakdown | undefined;
  /** 1 = this device would get the next replica. */
  readonly rank: number | undefined;
  readonly feasibleDevices: number;
  readonly best: { readonly deviceId: string; readonly total: number } | undefined;
  readonly summary: string;
}

/** Explains against a fleet the caller already compiled (and may have placed into). */
export function explainOnFleet(fleet: FleetState, request: PlacementRequest, deviceId: string): DeviceExplanation | undefined {
  const i = fleet.indexOf(deviceId);
  if (i === undefined) return undefined;
  const ctx = fleet.prepare(request);
  const device = fleet.devices[i] as CompiledDevice;
  const usage = fleet.usage[i] as DeviceUsage;
  const filters: FilterVerdict[] = [];
  const verdict = (filter: string, reason: string | undefined): void => {
    filters.push(reason === undefined ? { filter, passed: true } : { filter, passed: false, reason });
  };
  for (const f of staticFilters) verdict(f.name, f.check(device, ctx.workload, fleet.now));
  for (const f of dynamicFilters) verdict(f.name, f.check(device, usage, ctx.workload));
  const spreadReason = ctx.spread.missingHardLabel(i) ?? (ctx.spread.candidate[i] === 1 ? ctx.spread.hardViolation(i) : undefined);
  verdict(topologySpreadFilterName, spreadReason);

  const totals = scoreAllDevices(ctx);
  let feasible = 0;
  let rank = 1;
  let best = -1;
  const own = totals[i] as number;
  for (let j = 0; j < totals.length; j++) {
    const t = totals[j] as number;
    if (t < 0) continue;
    feasible++;
    if (best < 0 || t > (totals[best] as number)) best = j;
    if (t > own || (t === own && j < i)) rank++;
  }
  const bestInfo = best < 0 ? undefined : { deviceId: (fleet.devices[best] as CompiledDevice).id, total: totals[best] as number };
  const fits = own >= 0;
  let scores: ScoreBreakdown | undefined;
  if (fits) {
    const partial = ctx.partialScore(i);
    scores = {
      topologySpread: (own - partial) / scoreWeights.topologySpread,
      resources: ctx.resourceScore(i),
      preferredAffinity: ctx.affinityScore[i] ?? 0,
      taintToleration: ctx.taintScore[i] ?? 0,
      imageLocality: ctx.imageScore[i] ?? 0,
      total: own,
    };
  }
  const failed = filters.filter((f) => !f.passed).map((f) => f.reason);
  let summary: string;
  if (!fits) summary = `${deviceId} does not fit ${request.name}: ${failed.join('; ')}`;
  else if (rank === 1) summary = `${deviceId} would get the next replica of ${request.name} (score ${own}, best of ${feasible})`;
  else summary = `${deviceId} fits ${request.name} but ranks ${rank} of ${feasible} (score ${own}; ${bestInfo?.deviceId} has ${bestInfo?.total})`;
  return {
    deviceId,
    workload: request.name,
    fits,
    filters,
    scores,
    rank: fits ? rank : undefined,
    feasibleDevices: feasible,
    best: bestInfo,
    summary,
  };
}

/** Pure form: explains against the snapshot as given. */
export function explainDevice(
  devices: readonly DeviceSnapshot[],
  request: PlacementRequest,
  deviceId: string,
  options: SchedulerOptions,
): DeviceExplanation | undefined {
  return explainOnFleet(new FleetState(devices, options), request, deviceId);
}
