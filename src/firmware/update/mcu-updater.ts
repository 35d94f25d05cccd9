/**
 * Updating one MCU's application over its link, with a way back: keep the image being
 * replaced (read back through AN3155 if none is kept), flash the new one, Go, wait for it
 * to identify with the new version, and if it does not — or flashing failed half way —
 * get back into the bootloader and flash the kept image again. The image must have been
 * admitted (admission.ts) before this runs: from here on the MCU is touched.
 */
import { An3155Client, type An3155Timeouts } from '../an3155/an3155-client.js';
import type { FlashResult } from '../an3155/flash.js';
import { flashImage } from '../an3155/flash.js';
import type { Clock } from '../clock.js';
import type { FirmwareImage } from '../image/image.js';
import { flattenImage, imageSpan } from '../image/segments.js';
import { parseRawBinary } from '../image/raw-binary.js';
import type { ByteLink } from '../link/byte-link.js';
import type { Identity } from '../mculink/messages.js';
import { stm32ChipFor, hexId } from '../an3155/chips.js';
import { BootloaderError } from '../an3155/wire.js';
import { awaitIdentity, pause, reachBootloader, readFlash } from './bootloader-access.js';
import type { FlashGeometry } from './flash-targets.js';
import type { ImageKeeper, KeptImage } from './kept-images.js';
import { eraseModeFor, judgeBoot, planBackup, rollbackMessage } from './update-policy.js';

export type UpdateStep = 'backup' | 'erase' | 'write' | 'verify' | 'boot' | 'rollback';

export interface UpdateEnvironment {
  readonly link: ByteLink;
  readonly clock: Clock;
  readonly geometry: FlashGeometry;
  readonly keeper: ImageKeeper;
  readonly mcuId: string;
  /** What the MCU identified as before the update; undefined if it does not identify. */
  readonly runningVersion: string | undefined;
  /** How long a freshly flashed application gets to answer IDENTIFY. */
  readonly bootTimeoutMs?: number;
  readonly an3155Timeouts?: Partial<An3155Timeouts>;
  /** Attempts to get back into the bootloader for a restore, a second apart. Default 3. */
  readonly restoreAttempts?: number;
  readonly onProgress?: (step: UpdateStep, done: number, total: number) => void;
  readonly onNote?: (message: string) => void;
  /** Cancels the update; a flash cut short this way is rolled back. */
  readonly signal?: AbortSignal;
  /**
   * Remove readout protection if the chip has it (AN3155 Readout Unprotect): this erases
   * the whole flash first, so the running firmware is lost. The caller has confirmed it.
   */
  readonly unprotect?: boolean;
}

export type UpdateOutcome =
  | {
      readonly kind: 'updated';
      readonly identity: Identity;
      readonly previousVersion: string | undefined;
      readonly bytesWritten: number;
      readonly retries: number;
    }
  | { readonly kind: 'rolled-back'; readonly message: string; readonly restoredVersion: string; readonly identity: Identity }
  /**
   * `untouched`: the flash was not changed (the bootloader could not be reached or read).
   * `code` 'read-protected': the chip has readout protection; `unprotect` would remove it.
   */
  | { readonly kind: 'failed'; readonly message: string; readonly flash: 'untouched' | 'changed'; readonly code?: 'read-protected' };

const DEFAULT_BOOT_TIMEOUT_MS = 10_000;

export async function updateMcu(env: UpdateEnvironment, image: FirmwareImage, version: string): Promise<UpdateOutcome> {
  const note = (message: string): void => env.onNote?.(message);
  const kept = await env.keeper.load(env.mcuId);
  const plan = planBackup(env.runningVersion, kept);

  note('entering the bootloader');
  let client: An3155Client;
  try {
    env.signal?.throwIfAborted();
    client = (await reachBootloader(env)).client;
  } catch (err) {
    return { kind: 'failed', message: (err as Error).message, flash: 'untouched' };
  }

  let geometry: FlashGeometry;
  let erased = false;
  try {
    const chip = await checkChip(client, env);
    geometry = chip.geometry;
    if (chip.protected) {
      if (env.unprotect !== true) return await refuseProtected(client, env);
      note(`removing readout protection: the bootloader erases the whole flash (${plan.kind === 'read-back' ? `the running ${plan.version} cannot be kept` : 'nothing to read back'})`);
      client = await unprotect(client, env);
      erased = true;
    } else if (env.unprotect === true) {
      note('readout protection is not active: nothing to unprotect');
    }
  } catch (err) {
    client.dispose();
    return { kind: 'failed', message: (err as Error).message, flash: erased ? 'changed' : 'untouched' };
  }

  let fallback: KeptImage | undefined = plan.kind === 'use-kept' ? kept : undefined;
  if (plan.kind === 'read-back' && erased) {
    note(`the running ${plan.version} was erased with the protection: a failed flash cannot be rolled back`);
  } else if (plan.kind === 'read-back') {
    note(`keeping ${plan.version}: reading the flash back`);
    try {
      const data = await readFlash(client, geometry, { onProgress: (done, total) => env.onProgress?.('backup', done, total), ...(env.signal ? { signal: env.signal } : {}) });
      fallback = { version: plan.version, origin: 'read-back', loadAddress: env.geometry.flashBase, data };
      await env.keeper.save(env.mcuId, fallback);
    } catch (err) {
      const left = await leaveBootloader(client, env);
      return { kind: 'failed', message: `could not keep the running ${plan.version} (${(err as Error).message}); nothing was written${left}`, flash: 'untouched' };
    }
  } else if (plan.kind === 'none') {
    note('no previous image is known for this MCU: a failed flash cannot be rolled back');
  }

  let why = `flashing ${version} failed`;
  let written: FlashResult | undefined;
  try {
    written = await flashImage(client, image, {
      erase: eraseFor(image, geometry),
      pageSize: geometry.pageSize,
      flashBase: geometry.flashBase,
      verify: true,
      sync: false,
      retries: 3,
      onProgress: (p) => {
        // Go is one command; the boot step is reported while the new image is awaited.
        if (p.phase !== 'go') env.onProgress?.(p.phase, p.done, p.total);
      },
      ...(env.signal ? { signal: env.signal } : {}),
    });
  } catch (err) {
    why = `flashing ${version} failed: ${(err as Error).message}`;
  } finally {
    client.dispose();
  }
  if (written !== undefined) {
    note(`waiting for ${version} to identify`);
    env.onProgress?.('boot', 0, 1);
    const identity = await awaitIdentity(env, env.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
    const verdict = judgeBoot(version, identity ? { kind: 'identified', version: identity.firmwareVersion } : { kind: 'silent' });
    if (verdict.kind === 'updated' && identity !== undefined) {
      env.onProgress?.('boot', 1, 1);
      const flat = flattenImage(image);
      await env.keeper.save(env.mcuId, { version, origin: 'flashed', loadAddress: flat.address, data: flat.data });
      return { kind: 'updated', identity, previousVersion: env.runningVersion, bytesWritten: written.bytesWritten, retries: written.retries };
    }
    why = verdict.kind === 'roll-back' ? verdict.why : `${version} never identified`;
  }

  if (fallback === undefined) return { kind: 'failed', message: `${why}; no previous image to restore`, flash: 'changed' };
  note(`restoring ${fallback.version}: ${why}`);
  return restore(env, geometry, fallback, why);
}

/** Flash the kept image back and confirm the MCU identifies with its version. */
async function restore(env: UpdateEnvironment, geometry: FlashGeometry, fallback: KeptImage, why: string): Promise<UpdateOutcome> {
  const attempts = env.restoreAttempts ?? 3;
  let client: An3155Client | undefined;
  let lastError = '';
  for (let attempt = 0; attempt < attempts && client === undefined; attempt++) {
    if (attempt > 0) await pause(env.clock, 1000);
    try {
      client = (await reachBootloader(env)).client;
    } catch (err) {
      lastError = (err as Error).message;
    }
  }
  if (client === undefined) {
    return { kind: 'failed', message: `${why}; restoring ${fallback.version} failed: ${lastError}`, flash: 'changed' };
  }
  try {
    const restoring = parseRawBinary(fallback.data, fallback.loadAddress);
    await flashImage(client, restoring, {
      erase: eraseFor(restoring, geometry),
      pageSize: geometry.pageSize,
      flashBase: geometry.flashBase,
      verify: true,
      sync: false,
      retries: 3,
      onProgress: (p) => {
        if (p.phase === 'write') env.onProgress?.('rollback', p.done, p.total);
      },
    });
  } catch (err) {
    return { kind: 'failed', message: `${why}; restoring ${fallback.version} failed: ${(err as Error).message} (the MCU waits in its bootloader)`, flash: 'changed' };
  } finally {
    client.dispose();
  }
  const identity = await awaitIdentity(env, env.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
  if (identity === undefined || identity.firmwareVersion !== fallback.version) {
    return { kind: 'failed', message: `${why}; ${fallback.version} was restored but did not identify`, flash: 'changed' };
  }
  return { kind: 'rolled-back', message: rollbackMessage(fallback.version, why), restoredVersion: fallback.version, identity };
}

/** Nothing was written: start the application again (AN3155 Go to the vector table). */
async function leaveBootloader(client: An3155Client, env: UpdateEnvironment): Promise<string> {
  try {
    await client.go(env.geometry.flashBase);
    return '';
  } catch {
    return '; the MCU still waits in its bootloader (power-cycle it)';
  } finally {
    client.dispose();
  }
}

/**
 * Get ID (AN3155 §3.3) names the part: its page size comes from the chip table (the board
 * profile's is used for parts the table does not know), the flash size from the profile.
 * A 4-byte Read Memory then tells whether readout protection is on (the command is NACKed).
 */
async function checkChip(client: An3155Client, env: UpdateEnvironment): Promise<{ geometry: FlashGeometry; protected: boolean }> {
  const productId = await client.getId();
  const chip = stm32ChipFor(productId);
  if (chip !== undefined && env.geometry.productIds !== undefined && !env.geometry.productIds.includes(productId)) {
    throw new BootloaderError('unexpected', `the bootloader reports ${chip.family} (product id ${hexId(productId)}), not an ${env.geometry.model}: nothing was written`);
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

/** The message a technician acts on; the chip stays in its bootloader (RDP refuses Go too). */
async function refuseProtected(client: An3155Client, env: UpdateEnvironment): Promise<UpdateOutcome> {
  const left = await leaveBootloader(client, env);
  return {
    kind: 'failed',
    code: 'read-protected',
    flash: 'untouched',
    message:
      `readout protection is active on this ${env.geometry.model}: its bootloader refuses to read or write the flash. ` +
      `Flash again with --unprotect to remove it, which erases the whole flash (the running firmware too)${left}`,
  };
}

/**
 * Readout Unprotect, then sync with the chip again after the reset the ROM ends it with
 * (AN3155 §3.12). With the flash erased there is no application to ask for the
 * bootloader: the chip is back in its bootloader only if BOOT0 is held high at the reset.
 */
async function unprotect(client: An3155Client, env: UpdateEnvironment): Promise<An3155Client> {
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
      `readout protection removed and the flash erased, but the MCU did not come back into its bootloader after its reset (${(err as Error).message}); ` +
        'hold BOOT0 high, reset it and flash again',
      { cause: err },
    );
  }
}

function eraseFor(image: FirmwareImage, geometry: FlashGeometry): 'mass' | 'pages' {
  const span = imageSpan(image);
  return span === undefined ? 'pages' : eraseModeFor(span, geometry);
}
