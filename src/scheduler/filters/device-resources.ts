// Extended resources (`rk3588.npu: 1`): counted integers, never shared, like Kubernetes
// extended resources advertised by a device plugin.
import type { DynamicFilter } from './filter.js';
import { reasons } from '../reasons.js';

export const deviceResourceFilter: DynamicFilter = {
  name: 'deviceResources',
  check(device, usage, workload) {
    for (const [name, qty] of workload.deviceResources) {
      if ((usage.extended.get(name) ?? 0) + qty > (device.extended.get(name) ?? 0)) return reasons.insufficientResource(name);
    }
    return undefined;
  },
};
