/**
 * What the updater (mcu-updater.ts) needs from a chip's loader, whatever protocol it speaks:
 * get into it, learn the chip, maybe read the flash back, write an image (erasing what it
 * needs, verifying as the loader can), start the application. The AN3155 flasher (STM32
 * system bootloader) and the STC89 flasher (STC's ISP loader, entered by a power cycle)
 * implement it; admission, backup, rollback and progress are shared above it.
 */
import type { FirmwareImage } from '../image/image.js';
import type { Identity } from '../mculink/messages.js';
import type { FlashGeometry } from './flash-targets.js';

export type FlasherKind = 'an3155' | 'stc89-isp';

export interface FlasherProgress {
  readonly phase: 'erase' | 'write' | 'verify';
  readonly done: number;
  readonly total: number;
}

export interface FlasherWriteOptions {
  /** Only these pages (from the flash base) are erased; needs `pageErase`. Default: what the image needs. */
  readonly pages?: readonly number[];
  /** Read every written byte back through the loader (AN3155); loaders that verify while writing ignore it. */
  readonly readBack: boolean;
  /** Start the application at this address afterwards. */
  readonly go: number;
  readonly onProgress?: (progress: FlasherProgress) => void;
  readonly signal?: AbortSignal;
}

export interface FlasherWriteResult {
  readonly bytesWritten: number;
  readonly retries: number;
}

/** One visit to the loader; `dispose` when done (it detaches from the link). */
export interface FlasherSession {
  readonly kind: FlasherKind;
  /** The geometry as the loader confirmed it (AN3155: page size from the chip id). */
  readonly geometry: FlashGeometry;
  /** A one-line description of the chip as its loader reported it, for notes. */
  readonly chip: string;
  /** Readout protection is on (AN3155); the loader refuses to read or write. */
  readonly readProtected: boolean;
  /** Erases single pages (page-by-page updates need it). */
  readonly pageErase: boolean;
  /**
   * Every block is checked as it is written (the STC89 loader answers each with the sum of
   * what it stored), so no check after boot is needed.
   */
  readonly verifiesWhileWriting: boolean;
  /** Remove readout protection (erases the whole flash); the session to go on with. */
  unprotect?(): Promise<FlasherSession>;
  /** The application flash, erased tail trimmed; absent when the loader cannot read (STC89). */
  readFlash?(options: { onProgress?: (done: number, total: number) => void; signal?: AbortSignal }): Promise<Uint8Array>;
  write(image: FirmwareImage, options: FlasherWriteOptions): Promise<FlasherWriteResult>;
  /** Start the application without writing; resolves to a note for the technician ('' if none). */
  leave(): Promise<string>;
  dispose(): void;
}

export interface Flasher {
  readonly kind: FlasherKind;
  /**
   * Get the MCU into its loader from whatever state it is in. Rejects with the reason when
   * it cannot (the flash is then untouched).
   */
  enter(): Promise<FlasherSession>;
  /** After a failed restore, what the technician should do to get the chip back into its loader. */
  readonly stuckHint: string;
  /**
   * For firmware that reports no CRC-32 of its flash (or `--verify readback`): back into the
   * loader, read the written bytes back, compare, start the application and wait for it.
   * Absent when the loader cannot read (its blocks were checked while writing instead).
   */
  verifyByReadBack?(
    flat: { readonly address: number; readonly data: Uint8Array },
    bootTimeoutMs: number,
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ ok: true; identity: Identity | undefined } | { ok: false; why: string }>;
}
