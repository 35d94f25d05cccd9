/**
 * The updater's decisions, pure: where the image to fall back on comes from, and what a
 * flash attempt's outcome means. The I/O that acts on them is in mcu-updater.ts.
 */

/** The image kept for an MCU: the last one flashed there, or read back before the first flash. */
export interface KeptImageInfo {
  /** Version the MCU identified with while this image was in its flash. */
  readonly version: string;
  readonly origin: 'flashed' | 'read-back';
}

export type BackupPlan =
  | { readonly kind: 'use-kept' }
  /** The kept image is not what runs now (or there is none): read the flash back first (AN3155 Read Memory). */
  | { readonly kind: 'read-back'; readonly version: string }
  /** Nothing known runs and nothing is kept: a failed flash cannot be undone. */
  | { readonly kind: 'none' };

/**
 * `runningVersion` is undefined when the MCU does not identify (e.g. it sits in its
 * bootloader after an interrupted flash): its flash holds no known image then, so reading
 * it back would keep garbage; the last image kept is the one to restore.
 */
export function planBackup(runningVersion: string | undefined, kept: KeptImageInfo | undefined): BackupPlan {
  if (runningVersion === undefined) return kept ? { kind: 'use-kept' } : { kind: 'none' };
  if (kept !== undefined && kept.version === runningVersion) return { kind: 'use-kept' };
  return { kind: 'read-back', version: runningVersion };
}

/** What the MCU said after Go, within the boot timeout. */
export type BootObservation =
  | { readonly kind: 'identified'; readonly version: string }
  | { readonly kind: 'silent' };

export type FlashVerdict =
  | { readonly kind: 'updated' }
  | { readonly kind: 'roll-back'; readonly why: string };

/** Did the new image take? Anything but identifying with the flashed version rolls back. */
export function judgeBoot(expectedVersion: string, observed: BootObservation): FlashVerdict {
  if (observed.kind === 'silent') return { kind: 'roll-back', why: `${expectedVersion} never identified` };
  if (observed.version !== expectedVersion) {
    return { kind: 'roll-back', why: `the MCU identified as ${observed.version} after flashing ${expectedVersion}` };
  }
  return { kind: 'updated' };
}

/** The one-line report of a flash that ended on the old image. */
export function rollbackMessage(restoredVersion: string, why: string): string {
  return `rolled back to ${restoredVersion}: ${why}`;
}

/**
 * Erase only the pages the image covers (an application may keep data in the pages after
 * it); when that is every page, one mass erase does the same in one command (AN3155
 * Extended Erase 0xFFFF: 40 ms on the STM32F103 instead of 64 page erases of 20 ms).
 */
export function eraseModeFor(span: { readonly start: number; readonly end: number }, geometry: { readonly flashBase: number; readonly flashSize: number; readonly pageSize: number }): 'mass' | 'pages' {
  const firstPage = Math.floor((span.start - geometry.flashBase) / geometry.pageSize);
  const lastPage = Math.floor((span.end - 1 - geometry.flashBase) / geometry.pageSize);
  const pages = geometry.flashSize / geometry.pageSize;
  return firstPage <= 0 && lastPage >= pages - 1 ? 'mass' : 'pages';
}
