// The two shapes of filter. Static filters depend only on the device and the workload (and
// `now`), so they run once per workload and device. Dynamic filters also read what is placed
// on the device, and are re-run only for the device that just received a replica.
import type { CompiledDevice, DeviceUsage } from '../device.js';
import type { CompiledWorkload } from '../workload.js';

/** Returns the reason text when the device does not fit, undefined when it does. */
export type StaticCheck = (device: CompiledDevice, workload: CompiledWorkload, now: number) => string | undefined;
export type DynamicCheck = (device: CompiledDevice, usage: DeviceUsage, workload: CompiledWorkload) => string | undefined;

export interface StaticFilter {
  readonly name: string;
  readonly check: StaticCheck;
}

export interface DynamicFilter {
  readonly name: string;
  readonly check: DynamicCheck;
}
