// NodeResourcesFit scoring: LeastAllocated spreads load (the Kubernetes default),
// MostAllocated packs devices so that others can stay idle or off. CPU and memory weigh 1 each,
// and the replica being placed counts as already requested, as in kube-scheduler.
import type { CompiledDevice, DeviceUsage } from '../device.js';
import type { CompiledWorkload } from '../workload.js';
import { maxScore } from './normalize.js';

function leastAllocated(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.floor(((capacity - requested) * maxScore) / capacity);
}

function mostAllocated(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  return Math.floor((Math.min(requested, capacity) * maxScore) / capacity);
}

export function resourceScore(device: CompiledDevice, usage: DeviceUsage, workload: CompiledWorkload): number {
  const cpu = usage.cpuMillis + workload.cpuMillis;
  const memory = usage.memoryBytes + workload.memoryBytes;
  const f = workload.scoring === 'MostAllocated' ? mostAllocated : leastAllocated;
  return Math.floor((f(cpu, device.allocatableCpu) + f(memory, device.allocatableMemory)) / 2);
}
