/**
 * Getting at an MCU's AN3155 bootloader from whatever state it is in, reading its flash
 * back, and waiting for the application to identify after Go. The link is used
 * exclusively by these functions while they run; each detaches its listeners before it
 * returns, so the next user of the link starts clean.
 */
import type { Clock } from '../clock.js';
import type { ByteLink } from '../link/byte-link.js';
import type { An3155Timeouts } from '../an3155/an3155-client.js';
import { An3155Client } from '../an3155/an3155-client.js';
import { BootloaderError, MAX_TRANSFER } from '../an3155/wire.js';
import { McuSession } from '../mculink/mcu-session.js';
import type { FlashGeometry } from './flash-targets.js';

export class BootloaderUnreachableError extends Error {
  override name = 'BootloaderUnreachableError';
}

export { awaitIdentity, pause } from './application-access.js';
import { errorMessage } from '../../common/errors.js';

export interface LinkAccess {
  readonly link: ByteLink;
  readonly clock: Clock;
  readonly an3155Timeouts?: Partial<An3155Timeouts>;
}

/**
 * Ask the application for its bootloader (ENTER_BOOTLOADER, PROTOCOL.md) and sync with
 * 0x7F (AN3155 §2). If the application does not answer, the MCU may already sit in its
 * bootloader (an interrupted flash, BOOT0 held high), so the sync is tried anyway; an
 * earlier session may have left that bootloader inside a command, so resync follows.
 */
export async function reachBootloader(access: LinkAccess): Promise<{ client: An3155Client; via: 'enter-bootloader' | 'already-there' }> {
  const session = new McuSession({ link: access.link, clock: access.clock, requestTimeoutMs: 500, retries: 0 });
  let via: 'enter-bootloader' | 'already-there' = 'already-there';
  try {
    await session.enterBootloader();
    via = 'enter-bootloader';
  } catch {
    session.close();
  }
  // The bootloader frames with even parity (AN3155 §1); the application with none.
  await access.link.setParity?.('even');
  const client = new An3155Client({ link: access.link, clock: access.clock, ...(access.an3155Timeouts ? { timeouts: access.an3155Timeouts } : {}) });
  try {
    // More probes than the default two: the bootloader's USART may miss the first bytes after the jump.
    await client.sync(4);
    return { client, via };
  } catch (err) {
    if (!(err instanceof BootloaderError) || err.code === 'closed') {
      client.dispose();
      throw unreachable(err);
    }
  }
  try {
    await client.resync();
    return { client, via };
  } catch (err) {
    client.dispose();
    throw unreachable(err);
  }
}

function unreachable(cause: unknown): BootloaderUnreachableError {
  const why = errorMessage(cause);
  return new BootloaderUnreachableError(`the MCU neither entered its bootloader nor answered the AN3155 sync (${why})`, { cause });
}

/**
 * Read the whole application flash (AN3155 Read Memory, 256 bytes per command) and trim
 * the erased tail: what must be written back to restore the running firmware.
 */
export async function readFlash(
  client: An3155Client,
  geometry: FlashGeometry,
  options: { onProgress?: (done: number, total: number) => void; signal?: AbortSignal; retries?: number } = {},
): Promise<Uint8Array> {
  const total = geometry.flashSize;
  const out = new Uint8Array(total);
  options.onProgress?.(0, total);
  for (let offset = 0; offset < total; offset += MAX_TRANSFER) {
    options.signal?.throwIfAborted();
    const length = Math.min(MAX_TRANSFER, total - offset);
    out.set(await withResync(client, options.retries ?? 3, () => client.readMemory(geometry.flashBase + offset, length)), offset);
    options.onProgress?.(offset + length, total);
  }
  return trimErased(out);
}

/** Drop trailing 0xFF (erased flash) but keep whole 4-byte words, as Write Memory needs. */
export function trimErased(data: Uint8Array): Uint8Array {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0xff) end--;
  end = Math.max(4, Math.ceil(end / 4) * 4);
  return data.slice(0, Math.min(end, data.length));
}

async function withResync<T>(client: An3155Client, retries: number, op: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!(err instanceof BootloaderError) || err.code === 'closed' || attempt >= retries) throw err;
      await client.resync();
    }
  }
}
