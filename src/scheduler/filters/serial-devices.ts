// `serialDevices: [/dev/ttyUSB0]` passes a host port through to the instance as it is: a device
// whose facts do not list that path would only fail to start it. Unlike `peripherals`
// (any free port will do) the path is exact, and it is not a claim: two workloads may share a
// pass-through port, as two processes may open one tty.
import type { StaticFilter } from './filter.js';
import { reasons } from '../reasons.js';

export const serialDeviceFilter: StaticFilter = {
  name: 'serialDevices',
  check(device, workload) {
    for (const path of workload.spec.template.serialDevices) if (!device.serialDevicePaths.has(path)) return reasons.missingSerialDevice(path);
    return undefined;
  },
};
