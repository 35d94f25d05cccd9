import { selectorMatches } from '../../protocol/index.js';
import type { DeviceRecord, PlacementRecord, WorkloadRecord } from '../store/records.js';

export interface PlacementDecision {
  replicas: Record<string, string>;
  /** Why some replicas have no device, e.g. "0/5 devices fit: 3 offline, 2 no Docker". */
  unplacedReason?: string;
}

/**
 * Places `replicas: N` workloads: keeps replicas where their device still qualifies and puts
 * the missing ones on the qualifying devices with the fewest replicas of this workload.
 * The scheduler (src/scheduler) replaces this with resource fitting and scoring.
 */
export function placeReplicasSimply(workload: WorkloadRecord, devices: readonly DeviceRecord[], current: PlacementRecord | undefined): PlacementDecision {
  const wanted = workload.spec.replicas === 'all' ? 0 : workload.spec.replicas;
  const needsDocker = workload.spec.template.runtime === 'container';
  const reasons = new Map<string, number>();
  const eligible = devices
    .filter((d) => {
      const why = !selectorMatches(d.labels, workload.spec.selector)
        ? 'selector mismatch'
        : d.status?.state !== 'online'
          ? 'offline'
          : d.unschedulable
            ? 'cordoned'
            : needsDocker && !d.facts?.runtimes.docker.available
              ? 'no container runtime'
              : undefined;
      if (why) reasons.set(why, (reasons.get(why) ?? 0) + 1);
      return why === undefined;
    })
    .map((d) => d.id)
    .sort();
  const eligibleSet = new Set(eligible);
  const replicas: Record<string, string> = {};
  const load = new Map<string, number>(eligible.map((id) => [id, 0]));
  for (const [ordinal, deviceId] of Object.entries(current?.replicas ?? {})) {
    if (Number(ordinal) < wanted && eligibleSet.has(deviceId)) {
      replicas[ordinal] = deviceId;
      load.set(deviceId, (load.get(deviceId) ?? 0) + 1);
    }
  }
  for (let ordinal = 0; ordinal < wanted; ordinal++) {
    if (replicas[String(ordinal)] !== undefined) continue;
    const target = eligible.reduce<string | undefined>((best, id) => (best === undefined || (load.get(id) ?? 0) < (load.get(best) ?? 0) ? id : best), undefined);
    if (target === undefined) break;
    replicas[String(ordinal)] = target;
    load.set(target, (load.get(target) ?? 0) + 1);
  }
  const placed = Object.keys(replicas).length;
  if (placed >= wanted) return { replicas };
  const parts = [...reasons.entries()].sort((a, b) => b[1] - a[1]).map(([why, n]) => `${n} ${why}`);
  return { replicas, unplacedReason: `${eligible.length}/${devices.length} devices fit${parts.length ? `: ${parts.join(', ')}` : ''}` };
}
