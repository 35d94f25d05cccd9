// The template's runtime must exist on the device: a container needs Docker, a process needs
// the process runtime. (Kubernetes has RuntimeClass for this; here it comes from facts.)
import type { StaticFilter } from './filter.js';
import { reasons } from '../reasons.js';

export const runtimeFilter: StaticFilter = {
  name: 'runtime',
  check(device, workload) {
    if (workload.runtime === 'container') return device.docker ? undefined : reasons.containerRuntimeMissing;
    return device.process ? undefined : reasons.processRuntimeMissing;
  },
};
