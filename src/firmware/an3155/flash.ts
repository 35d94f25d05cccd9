/**
 * Flashing an image through an AN3155 bootloader: erase, write in 256-byte blocks,
 * read back and compare, Go. The only waits are the ACKs AN3155 requires (three per
 * block); nothing else is added per block, so the write phase runs near line rate.
 * Aborting takes effect between commands, so the bootloader is always left waiting
 * for a command (synced) when the link still works.
 */
import type { FirmwareImage } from '../image/image.js';
import type { An3155Client } from './an3155-client.js';
import { BootloaderError, Command, hex32, MAX_TRANSFER } from './wire.js';

export type FlashPhase = 'erase' | 'write' | 'verify' | 'go';

export interface FlashProgress {
  readonly phase: FlashPhase;
  /** Bytes for write/verify, pages for a page erase, 0/1 for mass erase and go. */
  readonly done: number;
  readonly total: number;
}

export interface FlashOptions {
  /** 'mass' erases the whole flash; 'pages' only pages the image touches; 'none' skips. */
  readonly erase: 'mass' | 'pages' | 'none';
  /** Flash page size in bytes, needed for erase: 'pages' (1024 on STM32F103x8/B, 2048 on high density). */
  readonly pageSize?: number;
  /** Address of page 0 (STM32 main flash: 0x08000000). */
  readonly flashBase?: number;
  /** Read back and compare after writing. Default true. */
  readonly verify?: boolean;
  /** Start the application: true = Go to the image's first address (its vector table). Default true. */
  readonly go?: boolean | number;
  /** Handshake with 0x7F first. Default true; false if the caller already synced. */
  readonly sync?: boolean;
  /** Attempts per block after the first, each after a resync. Default 3. */
  readonly retries?: number;
  /** With erase 'pages': exactly these pages (from flashBase) instead of those the image touches. */
  readonly pages?: readonly number[];
  /** Pages per Extended Erase command (bootloader RAM buffers are small). Default 128. */
  readonly pagesPerErase?: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (progress: FlashProgress) => void;
}

export interface FlashResult {
  readonly bytesWritten: number;
  readonly blocks: number;
  /** Blocks that needed another attempt. */
  readonly retries: number;
  readonly verified: boolean;
  readonly bootloaderVersion: number;
  readonly started?: number;
}

export class FlashVerifyError extends Error {
  override name = 'FlashVerifyError';
  constructor(
    readonly address: number,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`verify failed at ${hex32(address)}: wrote 0x${hex2(expected)}, read 0x${hex2(actual)}`);
  }
}

export class FlashAbortedError extends Error {
  override name = 'FlashAbortedError';
  constructor(
    readonly phase: FlashPhase,
    readonly done: number,
    readonly total: number,
    options?: { cause?: unknown },
  ) {
    super(`flashing aborted during ${phase} (${done}/${total})`, options);
  }
}

export interface Block {
  readonly address: number;
  readonly data: Uint8Array;
}

/**
 * Split an image into Write Memory blocks: 4-byte aligned start, length a multiple
 * of 4 and at most 256 (AN3155). Alignment padding is 0xFF, the erased value, so it
 * leaves the flash as erased; gaps larger than the padding are not written at all.
 */
export function planBlocks(image: FirmwareImage, blockSize = MAX_TRANSFER): Block[] {
  if (blockSize % 4 !== 0 || blockSize < 4 || blockSize > MAX_TRANSFER) throw new RangeError('block size must be a multiple of 4 in 4..256');
  const ranges: { start: number; end: number; parts: { address: number; data: Uint8Array }[] }[] = [];
  for (const s of image.segments) {
    const start = s.address - (s.address % 4);
    const end = Math.ceil((s.address + s.data.length) / 4) * 4;
    const last = ranges[ranges.length - 1];
    if (last !== undefined && start <= last.end) {
      last.end = Math.max(last.end, end);
      last.parts.push(s);
    } else ranges.push({ start, end, parts: [s] });
  }
  const blocks: Block[] = [];
  for (const r of ranges) {
    const buf = new Uint8Array(r.end - r.start).fill(0xff);
    for (const p of r.parts) buf.set(p.data, p.address - r.start);
    for (let off = 0; off < buf.length; off += blockSize) {
      blocks.push({ address: r.start + off, data: buf.subarray(off, Math.min(off + blockSize, buf.length)) });
    }
  }
  return blocks;
}

/** Page numbers (relative to flashBase) that the blocks touch, ascending. */
export function pagesFor(blocks: readonly Block[], pageSize: number, flashBase: number): number[] {
  if (!Number.isInteger(pageSize) || pageSize <= 0) throw new RangeError('erase: "pages" needs a positive pageSize');
  const pages = new Set<number>();
  for (const b of blocks) {
    if (b.address < flashBase) throw new RangeError(`block at ${hex32(b.address)} lies below the flash base ${hex32(flashBase)}`);
    const first = Math.floor((b.address - flashBase) / pageSize);
    const last = Math.floor((b.address + b.data.length - 1 - flashBase) / pageSize);
    for (let p = first; p <= last; p++) pages.add(p);
  }
  return [...pages].sort((a, b) => a - b);
}

/**
 * Which erase the bootloader speaks, from its Get answer (AN3155 §3.1). A bootloader has
 * Erase (0x43, one-byte page numbers: v2.2 on the STM32F10x) or Extended Erase (0x44,
 * two-byte page numbers, later ROMs), never both (AN3155 §3, note 3 to the command table).
 */
export function eraseCommandFor(commands: readonly number[]): 'erase' | 'extended-erase' | undefined {
  if (commands.includes(Command.EXTENDED_ERASE)) return 'extended-erase';
  if (commands.includes(Command.ERASE)) return 'erase';
  return undefined;
}

export async function flashImage(client: An3155Client, image: FirmwareImage, options: FlashOptions): Promise<FlashResult> {
  const { signal, onProgress } = options;
  const retries = options.retries ?? 3;
  const blocks = planBlocks(image);
  const first = blocks[0];
  if (first === undefined) throw new RangeError('image has no data to flash');
  const total = blocks.reduce((n, b) => n + b.data.length, 0);
  const report = (phase: FlashPhase, done: number, all: number): void => onProgress?.({ phase, done, total: all });
  const checkpoint = (phase: FlashPhase, done: number, all: number): void => {
    if (signal?.aborted === true) throw new FlashAbortedError(phase, done, all, { cause: signal.reason });
  };
  let retried = 0;

  /** One command with bounded retries, each after a resync (AN3155 state unknown after a failure). */
  const attempt = async <T>(phase: FlashPhase, done: number, all: number, op: () => Promise<T>): Promise<T> => {
    for (let i = 0; ; i++) {
      try {
        return await op();
      } catch (err) {
        const retryable = err instanceof BootloaderError && err.code !== 'closed';
        if (!retryable || i >= retries) throw err;
        checkpoint(phase, done, all);
        retried++;
        await client.resync();
      }
    }
  };

  checkpoint('erase', 0, 1);
  if (options.sync !== false) await client.sync();
  const info = await client.get();
  if (!info.commands.includes(Command.WRITE_MEMORY)) throw new BootloaderError('unexpected', 'bootloader does not offer Write Memory (0x31)');
  const eraseCommand = eraseCommandFor(info.commands);
  if (options.erase !== 'none' && eraseCommand === undefined) {
    throw new BootloaderError('unexpected', 'bootloader offers neither Erase (0x43) nor Extended Erase (0x44)');
  }
  const extended = eraseCommand === 'extended-erase';

  // Erase. Not retried blindly after a timeout: the erase may still be running.
  if (options.erase === 'mass') {
    checkpoint('erase', 0, 1);
    report('erase', 0, 1);
    await (extended ? client.extendedErase('mass') : client.erase('mass'));
    report('erase', 1, 1);
  } else if (options.erase === 'pages') {
    const pages = options.pages ?? pagesFor(blocks, options.pageSize ?? 0, options.flashBase ?? 0x0800_0000);
    const per = extended ? (options.pagesPerErase ?? 128) : Math.min(options.pagesPerErase ?? 128, 255);
    report('erase', 0, pages.length);
    for (let i = 0; i < pages.length; i += per) {
      checkpoint('erase', i, pages.length);
      const batch = pages.slice(i, i + per);
      await (extended ? client.extendedErase(batch) : client.erase(batch));
      report('erase', Math.min(i + per, pages.length), pages.length);
    }
  }

  let done = 0;
  report('write', 0, total);
  for (const block of blocks) {
    checkpoint('write', done, total);
    let tries = 0;
    await attempt('write', done, total, async () => {
      // A retry may follow a write that landed but whose ACK was lost: flash cannot be
      // programmed twice (bits only go 1 → 0), so look first and write only into erased flash.
      if (tries++ > 0) {
        const present = await client.readMemory(block.address, block.data.length);
        if (present.every((b, i) => b === block.data[i])) return;
        if (!present.every((b) => b === 0xff)) {
          throw new BootloaderError('unexpected', `block at ${hex32(block.address)} is partly programmed; it needs an erase before it can be written again`);
        }
      }
      await client.writeMemory(block.address, block.data);
    });
    done += block.data.length;
    report('write', done, total);
  }

  const verify = options.verify ?? true;
  if (verify) {
    let checked = 0;
    report('verify', 0, total);
    for (const block of blocks) {
      checkpoint('verify', checked, total);
      const read = await attempt('verify', checked, total, () => client.readMemory(block.address, block.data.length));
      const at = block.data.findIndex((b, i) => read[i] !== b);
      if (at >= 0) throw new FlashVerifyError(block.address + at, block.data[at] ?? 0, read[at] ?? 0);
      checked += block.data.length;
      report('verify', checked, total);
    }
  }

  let started: number | undefined;
  if (options.go !== false) {
    started = typeof options.go === 'number' ? options.go : first.address;
    checkpoint('go', 0, 1);
    report('go', 0, 1);
    await client.go(started);
    report('go', 1, 1);
  }
  return { bytesWritten: total, blocks: blocks.length, retries: retried, verified: verify, bootloaderVersion: info.version, ...(started === undefined ? {} : { started }) };
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}
