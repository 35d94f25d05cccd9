// Which MCU or serial port a replica gets on a device. An exclusive claim needs a peripheral
// nobody holds; a shared claim needs one nobody holds exclusively. Candidates are tried in id
// (path) order, and the workload's requests most specific first, so the choice is
// deterministic and a request for "any MCU" does not take the only stm32f103 that a later
// request needs.
import type { Peripheral } from '../protocol/index.js';
import type { ClaimCount, CompiledDevice, DeviceUsage } from './device.js';
import type { PeripheralClaim } from './snapshot.js';
import { reasons } from './reasons.js';

function free(claims: ReadonlyMap<string, ClaimCount>, key: string, exclusive: boolean, taken: ReadonlySet<string>): boolean {
  if (taken.has(key)) return false;
  const c = claims.get(key);
  if (c === undefined) return true;
  return exclusive ? c.exclusive === 0 && c.shared === 0 : c.exclusive === 0;
}

/** The claims for `wanted` on this device, or the reason text when one cannot be met. */
export function allocatePeripherals(
  device: CompiledDevice,
  usage: DeviceUsage,
  wanted: readonly Peripheral[],
): PeripheralClaim[] | string {
  const claims: PeripheralClaim[] = [];
  const takenMcus = new Set<string>();
  const takenPorts = new Set<string>();
  for (const p of wanted) {
    if (p.kind === 'mcu') {
      const mcu = device.mcus.find((m) => (p.mcu === undefined || m.model === p.mcu) && free(usage.mcuClaims, m.id, p.exclusive, takenMcus));
      if (!mcu) return reasons.noFreeMcu(p.mcu);
      takenMcus.add(mcu.id);
      claims.push({ kind: 'mcu', mcuId: mcu.id, exclusive: p.exclusive });
    } else {
      const path = device.serialPorts.find((s) => free(usage.serialClaims, s, p.exclusive, takenPorts));
      if (path === undefined) return reasons.noFreeSerialPort;
      takenPorts.add(path);
      claims.push({ kind: 'serial', path, exclusive: p.exclusive });
    }
  }
  return claims;
}
