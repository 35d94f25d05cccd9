/**
 * Updating one MCU's application over its link, with a way back: keep the image being
 * replaced (read back through AN3155 if none is kept), flash the new one, Go, wait for it
 * to identify with the new version, and if it does not — or flashing failed half way —
 * get back into the bootloader and flash the kept image again. The image must have been
 * admitted (admission.ts) before this runs: from here on the MCU is touched.
 */
import type { An3155Client, An3155Timeouts } from '../an3155/an3155-client.js';
import type { FlashResult } from '../an3155/flash.js';
import { flashImage } from '../an3155/flash.js';
import type { Clock } from '../clock.js';
import type { FirmwareImage } from '../image/image.js';
import { flattenImage, imageSpan } from '../image/segments.js';
import { parseRawBinary } from '../image/raw-binary.js';
import type { ByteLink } from '../link/byte-link.js';
import type { Identity } from '../mculink/messages.js';
import { awaitIdentity, pause, reachBootloader, readFlash } from './bootloader-access.js';
import { checkChip, unprotect } from './chip-check.js';
import { judgeImageCheck, runningImageIs } from './image-check.js';
import { diffPages } from './page-diff.js';
import { verifyByReadBack } from './read-back-verify.js';
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
  /**
   * 'crc' (default): no read-back; the new application reports the CRC-32 of its flash
   * with IDENTIFY (read back only if it cannot). 'readback': read every byte back.
   */
  readonly verify?: 'crc' | 'readback';
  /** Write only the pages that differ from the kept image when the chip still holds it. Default true. */
  readonly pageDiff?: boolean;
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
  const verifyMode = env.verify ?? 'crc';
  const flat = flattenImage(image);
  const bootTimeoutMs = env.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS;

  // Page by page only from an image the chip provably still holds: the running
  // application's CRC-32 of its flash must match the kept image (asked before anything is touched).
  let diffBase: KeptImage | undefined;
  if (env.pageDiff !== false && plan.kind === 'use-kept' && kept !== undefined && env.runningVersion !== undefined) {
    if (await runningImageIs(env, kept.data)) diffBase = kept;
    else note(`the flash cannot be shown to hold the kept ${kept.version}: writing the whole image`);
  }

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

  const diff = diffBase !== undefined && !erased ? diffPages(image, diffBase, geometry) : undefined;
  const partial = diff !== undefined && diff.image.segments.length > 0 ? diff : undefined;
  if (partial !== undefined && diffBase !== undefined) {
    note(`${partial.erasePages.length} page(s) differ from the kept ${diffBase.version}, ${partial.unchangedPages} unchanged: writing only those`);
  }
  let why = `flashing ${version} failed`;
  let written: FlashResult | undefined;
  try {
    written = await flashImage(client, partial?.image ?? image, {
      erase: partial ? 'pages' : eraseFor(image, geometry),
      ...(partial ? { pages: partial.erasePages } : {}),
      pageSize: geometry.pageSize,
      flashBase: geometry.flashBase,
      verify: verifyMode === 'readback',
      go: flat.address,
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
    let identity = await awaitIdentity(env, bootTimeoutMs, verifyMode === 'crc' ? flat.data.length : undefined);
    let verdict = judgeBoot(version, identity ? { kind: 'identified', version: identity.firmwareVersion } : { kind: 'silent' });
    if (verdict.kind === 'updated' && identity !== undefined && verifyMode === 'crc') {
      const check = judgeImageCheck(identity, flat.data);
      if (check.kind === 'mismatch') verdict = { kind: 'roll-back', why: `${version} failed verification: ${check.why}` };
      else if (check.kind === 'match') env.onProgress?.('verify', flat.data.length, flat.data.length);
      else {
        note(`${version} reports no CRC-32 of its flash: verifying by reading it back`);
        const readBack = await verifyByReadBack(env, flat, bootTimeoutMs, (done, total) => env.onProgress?.('verify', done, total)).catch((err: unknown) => ({ ok: false as const, why: (err as Error).message }));
        identity = readBack.ok ? readBack.identity : undefined;
        verdict = readBack.ok ? judgeBoot(version, identity ? { kind: 'identified', version: identity.firmwareVersion } : { kind: 'silent' }) : { kind: 'roll-back', why: `${version} failed verification: ${readBack.why}` };
      }
    }
    if (verdict.kind === 'updated' && identity !== undefined) {
      env.onProgress?.('boot', 1, 1);
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

function eraseFor(image: FirmwareImage, geometry: FlashGeometry): 'mass' | 'pages' {
  const span = imageSpan(image);
  return span === undefined ? 'pages' : eraseModeFor(span, geometry);
}
