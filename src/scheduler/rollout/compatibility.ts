// Can a device take the release at all? A release's constraints ("tilt-reader needs stm32f103
// firmware >=2.0.0") hold by construction for the MCUs it flashes itself (the schema checks
// that); for the others, the device's MCUs must already run a matching version.
import { satisfiesRange } from '../../protocol/index.js';
import type { HardwareClass, ReleaseContent } from './types.js';

/** Why this device cannot run the release, one sentence per unmet constraint (empty: it can). */
export function compatibilityProblems(release: Pick<ReleaseContent, 'compatibility'>, hardware: HardwareClass): string[] {
  const problems: string[] = [];
  for (const c of release.compatibility) {
    for (const mcu of hardware.mcus) {
      if (mcu.model === c.mcuModel && !satisfiesRange(mcu.firmwareVersion, c.versionRange)) {
        problems.push(`${c.workload} needs ${c.mcuModel} firmware ${c.versionRange}, the device's runs ${mcu.firmwareVersion}`);
      }
    }
  }
  return problems;
}
