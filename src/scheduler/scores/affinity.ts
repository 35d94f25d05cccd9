// NodeAffinity scoring: the sum of the weights of the preferred terms a device matches,
// normalised so the best device gets 100 (kube-scheduler normalises over feasible nodes).
import type { CompiledDevice } from '../device.js';
import type { CompiledWorkload } from '../workload.js';
import { matchesAllAt } from '../label-index.js';

export function preferredAffinityRaw(device: CompiledDevice, workload: CompiledWorkload): number {
  let sum = 0;
  for (const term of workload.preferred) if (matchesAllAt(term.matchers, device.index)) sum += term.weight;
  return sum;
}
