// A replica sent to an offline or unready device would not start until it returns; placing it
// elsewhere is the point of having a fleet. A device that never reported facts cannot be sized.
import type { StaticFilter } from './filter.js';
import { reasons } from '../reasons.js';

export const onlineFilter: StaticFilter = {
  name: 'online',
  check(device) {
    if (!device.online) return reasons.offline;
    if (!device.ready) return reasons.notReady;
    if (!device.hasFacts) return reasons.noFacts;
    return undefined;
  },
};
