// The fixed filter order. A device that fails is counted once, under its first failing filter.
// Static filters come first (who may run this at all), then dynamic ones (who has room), then
// topology spread (kube-scheduler also runs PodTopologySpread after the fit filters).
import type { CompiledDevice, DeviceUsage } from '../device.js';
import type { CompiledWorkload } from '../workload.js';
import type { DynamicFilter, StaticFilter } from './filter.js';
import { onlineFilter } from './online.js';
import { cordonFilter } from './cordon.js';
import { runtimeFilter } from './runtime.js';
import { archFilter } from './arch.js';
import { osFilter } from './os.js';
import { selectorFilter } from './selector.js';
import { affinityFilter } from './affinity.js';
import { taintFilter } from './taints.js';
import { hostPortFilter } from './host-ports.js';
import { cpuFilter, memoryFilter } from './resources.js';
import { diskFilter } from './disk.js';
import { deviceResourceFilter } from './device-resources.js';
import { peripheralFilter } from './peripherals.js';
import { serialDeviceFilter } from './serial-devices.js';

export const staticFilters: readonly StaticFilter[] = [
  onlineFilter,
  cordonFilter,
  runtimeFilter,
  archFilter,
  osFilter,
  selectorFilter,
  affinityFilter,
  taintFilter,
  serialDeviceFilter,
];

export const dynamicFilters: readonly DynamicFilter[] = [
  hostPortFilter,
  cpuFilter,
  memoryFilter,
  diskFilter,
  deviceResourceFilter,
  peripheralFilter,
];

/** Name of the last filter, run by the placement state (it needs the replica counts). */
export const topologySpreadFilterName = 'topologySpread';

export function firstStaticFailure(device: CompiledDevice, workload: CompiledWorkload, now: number): string | undefined {
  for (const f of staticFilters) {
    const reason = f.check(device, workload, now);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

export function firstDynamicFailure(device: CompiledDevice, usage: DeviceUsage, workload: CompiledWorkload): string | undefined {
  for (const f of dynamicFilters) {
    const reason = f.check(device, usage, workload);
    if (reason !== undefined) return reason;
  }
  return undefined;
}
