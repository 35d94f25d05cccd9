// Per-chip serial numbers on the bench.
//
// A real MCU reports a serial that belongs to the chip (the STM32's 96-bit unique ID,
// for instance), not to the image flashed into it. The firmware keeps its serial in
// flash right after the 8-byte marker "EPSERIAL" (hardware/firmware/common/identity.h).
// When the bench boots an emulator it writes the chip's serial after that marker in the
// copy of flash it hands to the emulator. The flash model itself is left untouched, so
// what the bootloader reads back is exactly what was written, and every image flashed
// later reports the same chip serial.

export const SERIAL_MARKER = Buffer.from('EPSERIAL', 'ascii');
export const SERIAL_LENGTH = 8;

/** "0123456789abcdef" -> 8 bytes; throws on anything else. */
export function parseSerial(text: string): Uint8Array {
  if (!/^[0-9a-fA-F]{16}$/.test(text)) throw new Error(`serial must be 16 hex digits, got "${text}"`);
  return new Uint8Array(Buffer.from(text, 'hex'));
}

export type SerialPatchResult = 'patched' | 'no-marker' | 'several-markers';

/**
 * Writes `serial` after the marker in `image` (in place). Leaves the image alone when the
 * marker is missing (a foreign image) or ambiguous, and says so.
 */
export function patchSerial(image: Uint8Array, serial: Uint8Array): SerialPatchResult {
  const buffer = Buffer.from(image.buffer, image.byteOffset, image.byteLength);
  const first = buffer.indexOf(SERIAL_MARKER);
  if (first < 0 || first + SERIAL_MARKER.length + SERIAL_LENGTH > buffer.length) return 'no-marker';
  if (buffer.indexOf(SERIAL_MARKER, first + 1) >= 0) return 'several-markers';
  image.set(serial.subarray(0, SERIAL_LENGTH), first + SERIAL_MARKER.length);
  return 'patched';
}
