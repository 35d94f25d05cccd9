// Recording a placement on a device: the peripherals it gets and the load it adds.
import type { CompiledDevice, DeviceUsage } from './device.js';
import type { CompiledWorkload } from './workload.js';
import type { Placement } from './types.js';
import { recordLoad } from './device.js';
import { allocatePeripherals } from './peripherals.js';

/** The caller has checked that the workload fits; a failure here is a scheduler bug. */
export function placeOn(device: CompiledDevice, usage: DeviceUsage, workload: CompiledWorkload): Placement {
  const claims = workload.peripherals.length === 0 ? [] : allocatePeripherals(device, usage, workload.peripherals);
  if (typeof claims === 'string') throw new Error(`scheduler invariant broken: ${device.id} chosen but ${claims}`);
  recordLoad(usage, {
    cpuMillis: workload.cpuMillis,
    memoryBytes: workload.memoryBytes,
    diskBytes: workload.diskBytes,
    hostPorts: workload.hostPorts,
    deviceResources: workload.deviceResources,
    peripherals: claims,
  });
  return { deviceId: device.id, peripherals: claims };
}
