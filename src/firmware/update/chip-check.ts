/**
 * What the updater learns from the bootloader before it writes: the part (Get ID, AN3155
 * §3.3) and whether readout protection is on; and removing that protection when asked.
 */
import { An3155Client, type An3155Timeouts } from '../an3155/an3155-client.js';
import { hexId, stm32ChipFor } from '../an3155/chips.js';
import { BootloaderError } from '../an3155/wire.js';
import type { Clock } from '../clock.js';
import type { ByteLink } from '../link/byte-link.js';
import { pause } from './bootloader-access.js';
import type { FlashGeometry } from './flash-targets.js';
import { errorMessage } from '../../common/errors.js';

interface ChipEnvironment {
  readonly link: ByteLink;
  readonly clock: Clock;
  readonly geometry: FlashGeometry;
  readonly an3155Timeouts?: Partial<An3155Timeouts>;
}

/**
 * Get ID (AN3155 §3.3) names the part: its page size comes from the chip table (the board
 * profile's is used for parts the table does not know), the flash size from the profile.
 * A 4-byte Read Memory then tells whether readout protection is on (the command is NACKed).
 */
export async function checkChip(client: An3155Client, env: ChipEnvironment): Promise<{ geometry: FlashGeometry; protected: boolean }> {
  const productId = await client.getId();
  const chip = stm32ChipFor(productId);
  if (env.geometry.productIds !== undefined && !env.geometry.productIds.includes(productId)) {
    const part = chip === undefined ? `product id ${hexId(productId)}` : `${chip.family} (product id ${hexId(productId)})`;
    throw new BootloaderError('unexpected', `the bootloader reports ${part}, not an ${env.geometry.model}: nothing was written`);
  }
  const geometry = chip === undefined ? env.geometry : { ...env.geometry, pageSize: chip.pageSize };
  try {
    await client.readMemory(geometry.flashBase, 4);
    return { geometry, protected: false };
  } catch (err) {
    if (err instanceof BootloaderError && err.code === 'read-protected') {
      // One more look after a resync: a NACK can also be a byte lost on the line.
      await client.resync();
      try {
        await client.readMemory(geometry.flashBase, 4);
        return { geometry, protected: false };
      } catch (again) {
        if (again instanceof BootloaderError && again.code === 'read-protected') return { geometry, protected: true };
        throw again;
      }
    }
    throw err;
  }
}

/**
 * Readout Unprotect, then sync with the chip again after the reset the ROM ends it with
 * (AN3155 §3.12). With the flash erased there is no application to ask for the
 * bootloader: the chip is back in its bootloader only if BOOT0 is held high at the reset.
 */
export async function unprotect(client: An3155Client, env: ChipEnvironment): Promise<An3155Client> {
  await client.readoutUnprotect();
  client.dispose();
  await pause(env.clock, 100);
  const again = new An3155Client({ link: env.link, clock: env.clock, ...(env.an3155Timeouts ? { timeouts: env.an3155Timeouts } : {}) });
  try {
    await again.sync(6);
    return again;
  } catch (err) {
    again.dispose();
    throw new Error(
      `readout protection removed and the flash erased, but the MCU did not come back into its bootloader after its reset (${errorMessage(err)}); ` +
        'hold BOOT0 high, reset it and flash again',
      { cause: err },
    );
  }
}

