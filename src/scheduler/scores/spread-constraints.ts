// Which topology spread constraints apply to a workload, after defaults.
//
// Mirrors kube-scheduler's PodTopologySpread with its system defaults
// (hostname maxSkew 3 and zone maxSkew 5, both ScheduleAnyway, used only when the pod has no
// constraints of its own), with two deliberate differences for the edge:
//  - the per-device level stays on even when the workload declares zone/site constraints, so a
//    workload without resource requests still spreads across devices inside a zone; it is
//    switched off by `scoring: MostAllocated` (packing and spreading pull opposite ways) or
//    replaced by the workload's own constraint on `edgepilot.io/hostname`;
//  - a constraint on `edgepilot.io/hostname` means "per device": edge hostnames repeat (every
//    Raspberry Pi is `raspberrypi`), device ids do not.
import type { WorkloadSpec } from '../../protocol/index.js';
import { wellKnownLabels } from '../../protocol/index.js';
import { perDeviceTopology } from '../reasons.js';

export interface SpreadConstraint {
  /** The label whose values are the domains; undefined = every device is its own domain. */
  readonly key: string | undefined;
  /** How the constraint is named in reason texts. */
  readonly name: string;
  readonly maxSkew: number;
  /** DoNotSchedule: a filter. ScheduleAnyway: a score. */
  readonly hard: boolean;
  /**
   * Added by the scheduler, not declared. As in Kubernetes, a device without the label is then
   * scored without this constraint instead of getting the worst spread score.
   */
  readonly systemDefault: boolean;
}

export const systemDefaultSpread = {
  deviceMaxSkew: 3,
  zoneMaxSkew: 5,
} as const;

export function effectiveSpreadConstraints(spec: Pick<WorkloadSpec, 'topologySpread' | 'scoring'>): SpreadConstraint[] {
  const declared: SpreadConstraint[] = spec.topologySpread.map((c) => ({
    key: c.topologyKey === wellKnownLabels.hostname ? undefined : c.topologyKey,
    name: c.topologyKey,
    maxSkew: c.maxSkew,
    hard: c.whenUnsatisfiable === 'DoNotSchedule',
    systemDefault: false,
  }));
  const out = [...declared];
  if (declared.length === 0) {
    out.push({ key: wellKnownLabels.zone, name: wellKnownLabels.zone, maxSkew: systemDefaultSpread.zoneMaxSkew, hard: false, systemDefault: true });
  }
  if (spec.scoring === 'LeastAllocated' && !declared.some((c) => c.key === undefined)) {
    out.push({ key: undefined, name: perDeviceTopology, maxSkew: systemDefaultSpread.deviceMaxSkew, hard: false, systemDefault: true });
  }
  return out;
}
