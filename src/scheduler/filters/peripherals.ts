// Peripherals: `{kind:'mcu', mcu:'stm32f103'}` needs an attached, online MCU of that model
// that nobody holds exclusively; `{kind:'serial'}` needs a free serial port.
import type { DynamicFilter } from './filter.js';
import { allocatePeripherals } from '../peripherals.js';

export const peripheralFilter: DynamicFilter = {
  name: 'peripherals',
  check(device, usage, workload) {
    if (workload.peripherals.length === 0) return undefined;
    const result = allocatePeripherals(device, usage, workload.peripherals);
    return typeof result === 'string' ? result : undefined;
  },
};
