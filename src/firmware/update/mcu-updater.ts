/**
 * Updating one MCU's application over its link, with a way back: keep the image being
 * replaced (read back through the loader if none is kept and the loader can read), flash
 * the new one, start it, wait for it to identify with the new version, and if it does not —
 * or flashing failed half way — get back into the loader and flash the kept image again.
 * The loader is reached through a Flasher (flasher.ts: AN3155 or the STC89 ISP loader,
 * chosen by flasher-selection.ts), so this file knows no bootloader protocol. The image
 * must have been admitted (admission.ts) before this runs: from here on the MCU is touched.
 */
import type { Clock } from '../clock.js';
import type { FirmwareImage } from '../image/image.js';
import { flattenImage } from '../image/segments.js';
import { parseRawBinary } from '../image/raw-binary.js';
import type { ByteLink } from '../link/byte-link.js';
import type { Identity } from '../mculink/messages.js';
import { awaitIdentity, pause } from './application-access.js';
import type { Flasher, FlasherSession, FlasherWriteResult } from './flasher.js';
import { selectFlasher, type FlasherEnvironment } from './flasher-selection.js';
import { judgeImageCheck, runningImageIs } from './image-check.js';
import { diffPages } from './page-diff.js';
import type { PowerControl, PowerCycleTiming } from './power-control.js';
import type { FlashGeometry } from './flash-targets.js';
import type { ImageKeeper, KeptImage } from './kept-images.js';
import { judgeBoot, planBackup, rollbackMessage } from './update-policy.js';
import { errorMessage } from '../../common/errors.js';

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
  readonly an3155Timeouts?: FlasherEnvironment['an3155Timeouts'];
  /** The loader to use; default chosen from the geometry's loader (flasher-selection.ts). */
  readonly flasher?: Flasher;
  /** How the MCU's power is cycled when its loader needs it (STC89); default: ask the technician. */
  readonly power?: PowerControl;
  readonly powerTiming?: Partial<PowerCycleTiming>;
  /** The application's line rate (restored after a loader that switches rates). */
  readonly applicationBaud?: number;
  /** The port's name, for prompts. */
  readonly port?: string;
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
  // (Only loaders that erase single pages can use it: not the STC89's.)
  if (env.pageDiff !== false && env.geometry.loader === 'an3155' && plan.kind === 'use-kept' && kept !== undefined && env.runningVersion !== undefined) {
    if (await runningImageIs(env, kept.data)) diffBase = kept;
    else note(`the flash cannot be shown to hold the kept ${kept.version}: writing the whole image`);
  }

  const flasher = env.flasher ?? selectFlasher({ ...env, ...(env.onNote ? { onNote: env.onNote } : {}) });
  note(flasher.kind === 'stc89-isp' ? 'entering the ISP loader (power cycle)' : 'entering the bootloader');
  let session: FlasherSession;
  try {
    env.signal?.throwIfAborted();
    session = await flasher.enter();
  } catch (err) {
    return { kind: 'failed', message: errorMessage(err), flash: 'untouched' };
  }

  let geometry: FlashGeometry = session.geometry;
  let erased = false;
  try {
    if (session.readProtected) {
      if (env.unprotect !== true || session.unprotect === undefined) return await refuseProtected(session, env);
      note(`removing readout protection: the bootloader erases the whole flash (${plan.kind === 'read-back' ? `the running ${plan.version} cannot be kept` : 'nothing to read back'})`);
      session = await session.unprotect();
      geometry = session.geometry;
      erased = true;
    } else if (env.unprotect === true) {
      note('readout protection is not active: nothing to unprotect');
    }
  } catch (err) {
    session.dispose();
    return { kind: 'failed', message: errorMessage(err), flash: erased ? 'changed' : 'untouched' };
  }

  let fallback: KeptImage | undefined = plan.kind === 'use-kept' ? kept : undefined;
  if (plan.kind === 'read-back' && erased) {
    note(`the running ${plan.version} was erased with the protection: a failed flash cannot be rolled back`);
  } else if (plan.kind === 'read-back' && session.readFlash === undefined) {
    note(`the ${env.geometry.model}'s loader cannot read its flash: the running ${plan.version} cannot be kept, a failed flash cannot be rolled back`);
  } else if (plan.kind === 'read-back' && session.readFlash !== undefined) {
    note(`keeping ${plan.version}: reading the flash back`);
    try {
      const data = await session.readFlash({ onProgress: (done, total) => env.onProgress?.('backup', done, total), ...(env.signal ? { signal: env.signal } : {}) });
      fallback = { version: plan.version, origin: 'read-back', loadAddress: env.geometry.flashBase, data };
      await env.keeper.save(env.mcuId, fallback);
    } catch (err) {
      const left = await session.leave();
      return { kind: 'failed', message: `could not keep the running ${plan.version} (${errorMessage(err)}); nothing was written${left}`, flash: 'untouched' };
    }
  } else if (plan.kind === 'none') {
    note('no previous image is known for this MCU: a failed flash cannot be rolled back');
  }

  const diff = diffBase !== undefined && !erased && session.pageErase ? diffPages(image, diffBase, geometry) : undefined;
  const partial = diff !== undefined && diff.image.segments.length > 0 ? diff : undefined;
  if (partial !== undefined && diffBase !== undefined) {
    note(`${partial.erasePages.length} page(s) differ from the kept ${diffBase.version}, ${partial.unchangedPages} unchanged: writing only those`);
  }
  let why = `flashing ${version} failed`;
  let written: FlasherWriteResult | undefined;
  const checkedWhileWriting = session.verifiesWhileWriting;
  try {
    written = await session.write(partial?.image ?? image, {
      ...(partial ? { pages: partial.erasePages } : {}),
      readBack: verifyMode === 'readback',
      go: flat.address,
      onProgress: (p) => env.onProgress?.(p.phase, p.done, p.total),
      ...(env.signal ? { signal: env.signal } : {}),
    });
  } catch (err) {
    why = `flashing ${version} failed: ${errorMessage(err)}`;
  } finally {
    session.dispose();
  }
  if (written !== undefined) {
    note(`waiting for ${version} to identify`);
    env.onProgress?.('boot', 0, 1);
    const askCrc = verifyMode === 'crc' && !checkedWhileWriting;
    let identity = await awaitIdentity(env, bootTimeoutMs, askCrc ? flat.data.length : undefined);
    let verdict = judgeBoot(version, identity ? { kind: 'identified', version: identity.firmwareVersion } : { kind: 'silent' });
    if (verdict.kind === 'updated' && identity !== undefined && askCrc) {
      const check = judgeImageCheck(identity, flat.data);
      if (check.kind === 'mismatch') verdict = { kind: 'roll-back', why: `${version} failed verification: ${check.why}` };
      else if (check.kind === 'match') env.onProgress?.('verify', flat.data.length, flat.data.length);
      else if (flasher.verifyByReadBack === undefined) {
        note(`${version} reports no CRC-32 of its flash and its loader cannot read it back: verified by its identity only`);
      } else {
        note(`${version} reports no CRC-32 of its flash: verifying by reading it back`);
        const readBack = await flasher.verifyByReadBack(flat, bootTimeoutMs, (done, total) => env.onProgress?.('verify', done, total)).catch((err: unknown) => ({ ok: false as const, why: errorMessage(err) }));
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
  return restore(env, flasher, fallback, why);
}

/** Flash the kept image back and confirm the MCU identifies with its version. */
async function restore(env: UpdateEnvironment, flasher: Flasher, fallback: KeptImage, why: string): Promise<UpdateOutcome> {
  const attempts = env.restoreAttempts ?? 3;
  let session: FlasherSession | undefined;
  let lastError = '';
  for (let attempt = 0; attempt < attempts && session === undefined; attempt++) {
    if (attempt > 0) await pause(env.clock, 1000);
    try {
      session = await flasher.enter();
    } catch (err) {
      lastError = errorMessage(err);
    }
  }
  if (session === undefined) {
    return { kind: 'failed', message: `${why}; restoring ${fallback.version} failed: ${lastError}`, flash: 'changed' };
  }
  try {
    const restoring = parseRawBinary(fallback.data, fallback.loadAddress);
    await session.write(restoring, {
      readBack: true,
      go: fallback.loadAddress,
      onProgress: (p) => {
        if (p.phase === 'write') env.onProgress?.('rollback', p.done, p.total);
      },
    });
  } catch (err) {
    return { kind: 'failed', message: `${why}; restoring ${fallback.version} failed: ${errorMessage(err)} (${flasher.stuckHint})`, flash: 'changed' };
  } finally {
    session.dispose();
  }
  const identity = await awaitIdentity(env, env.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
  if (identity === undefined || identity.firmwareVersion !== fallback.version) {
    return { kind: 'failed', message: `${why}; ${fallback.version} was restored but did not identify`, flash: 'changed' };
  }
  return { kind: 'rolled-back', message: rollbackMessage(fallback.version, why), restoredVersion: fallback.version, identity };
}

/** The message a technician acts on; the chip stays in its bootloader (RDP refuses Go too). */
async function refuseProtected(session: FlasherSession, env: UpdateEnvironment): Promise<UpdateOutcome> {
  const left = await session.leave();
  return {
    kind: 'failed',
    code: 'read-protected',
    flash: 'untouched',
    message:
      `readout protection is active on this ${env.geometry.model}: its bootloader refuses to read or write the flash. ` +
      `Flash again with --unprotect to remove it, which erases the whole flash (the running firmware too)${left}`,
  };
}
