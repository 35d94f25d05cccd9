/**
 * The slow way to verify, for firmware that cannot report a CRC-32 of its flash (or when
 * the technician asks for `--verify readback`): back into the bootloader, read every
 * written byte (AN3155 Read Memory), compare, Go, and wait for the application again.
 */
import { MAX_TRANSFER, hex32 } from '../an3155/wire.js';
import type { Identity } from '../mculink/messages.js';
import { awaitIdentity, reachBootloader, type LinkAccess } from './bootloader-access.js';

export async function verifyByReadBack(
  access: LinkAccess,
  flat: { readonly address: number; readonly data: Uint8Array },
  bootTimeoutMs: number,
  onProgress?: (done: number, total: number) => void,
): Promise<{ ok: true; identity: Identity | undefined } | { ok: false; why: string }> {
  const { client } = await reachBootloader(access);
  try {
    const total = flat.data.length;
    onProgress?.(0, total);
    for (let offset = 0; offset < total; offset += MAX_TRANSFER) {
      const length = Math.min(MAX_TRANSFER, total - offset);
      const read = await client.readMemory(flat.address + offset, length);
      const at = read.findIndex((b, i) => b !== flat.data[offset + i]);
      if (at >= 0) return { ok: false, why: `verify failed at ${hex32(flat.address + offset + at)}: wrote 0x${hex2(flat.data[offset + at] ?? 0)}, read 0x${hex2(read[at] ?? 0)}` };
      onProgress?.(offset + length, total);
    }
    await client.go(flat.address);
  } finally {
    client.dispose();
  }
  return { ok: true, identity: await awaitIdentity(access, bootTimeoutMs) };
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}
