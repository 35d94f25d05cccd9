// TaintToleration scoring: count the PreferNoSchedule taints the workload does not tolerate;
// fewer is better (normalised in reverse, as kube-scheduler does).
import type { CompiledDevice } from '../device.js';
import type { CompiledWorkload } from '../workload.js';
import { tolerationMatches } from '../tolerations.js';

export function intolerablePreferNoScheduleCount(device: CompiledDevice, workload: CompiledWorkload): number {
  let n = 0;
  for (const taint of device.taints) {
    if (taint.effect !== 'PreferNoSchedule') continue;
    if (!workload.tolerations.some((t) => tolerationMatches(t, taint))) n++;
  }
  return n;
}
