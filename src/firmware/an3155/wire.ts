/**
 * AN3155 wire constants and the small pure helpers of the protocol: ACK/NACK,
 * command codes, the XOR checksum, address encoding, and the error type.
 */

export const ACK = 0x79;
export const NACK = 0x1f;
/** Autobaud byte (AN3155 "Bootloader code sequence"). */
export const SYNC = 0x7f;

export const Command = {
  GET: 0x00,
  GET_VERSION: 0x01,
  GET_ID: 0x02,
  READ_MEMORY: 0x11,
  GO: 0x21,
  WRITE_MEMORY: 0x31,
  ERASE: 0x43,
  EXTENDED_ERASE: 0x44,
  WRITE_PROTECT: 0x63,
  WRITE_UNPROTECT: 0x73,
  READOUT_PROTECT: 0x82,
  READOUT_UNPROTECT: 0x92,
} as const;

/** AN3155 limits Read Memory and Write Memory to 256 bytes per command. */
export const MAX_TRANSFER = 256;

/**
 * 'read-protected': the bootloader refused a memory command at its first byte, which is
 * what it does while readout protection (RDP) is active (AN3155 §3, note 2 to the command
 * table: only Get, Get Version, Get ID and Readout Unprotect are served then).
 */
export type BootloaderErrorCode = 'nack' | 'timeout' | 'unexpected' | 'closed' | 'read-protected';

export class BootloaderError extends Error {
  override name = 'BootloaderError';
  constructor(
    readonly code: BootloaderErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export type EraseTarget = 'mass' | 'bank1' | 'bank2' | readonly number[];

/** XOR of all bytes: AN3155's checksum for addresses, lengths and data. */
export function xorChecksum(bytes: ArrayLike<number>, start = 0): number {
  let x = start;
  for (let i = 0; i < bytes.length; i++) x ^= bytes[i] ?? 0;
  return x & 0xff;
}

/** 4 address bytes MSB first + their XOR (AN3155, Read/Write Memory and Go). */
export function encodeAddress(address: number): Uint8Array {
  if (!Number.isInteger(address) || address < 0 || address > 0xffff_ffff) throw new RangeError(`${address} is not a 32-bit address`);
  const b = [(address >>> 24) & 0xff, (address >>> 16) & 0xff, (address >>> 8) & 0xff, address & 0xff];
  return Uint8Array.of(...b, xorChecksum(b));
}

export function hex32(n: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;
}

/**
 * What AN3155 costs per Write Memory command, whatever the block size: the host
 * sends 31 CE (2) + address and XOR (5) + N-1 (1) + checksum (1) = 9 bytes, the
 * bootloader answers 3 ACKs, and each of the 3 phases waits for its ACK (3 line
 * turnarounds). For a 256-byte block: 265 bytes out, 3 back.
 */
export const WRITE_MEMORY_OVERHEAD = { hostBytes: 9, bootloaderBytes: 3, turnarounds: 3 } as const;
