/**
 * Raw binary images: the bytes as they sit in flash, with no address of their own,
 * so the caller supplies the load address (0x08000000 for STM32 main flash).
 */
import type { FirmwareImage } from './image.js';
import { createImage, flattenImage, ImageError, hex32 } from './segments.js';

export function parseRawBinary(bytes: Uint8Array, loadAddress: number): FirmwareImage {
  if (!Number.isInteger(loadAddress) || loadAddress < 0 || loadAddress > 0xffff_ffff) {
    throw new ImageError(`load address ${String(loadAddress)} is not a 32-bit address`);
  }
  if (bytes.length === 0) throw new ImageError('raw binary image is empty');
  if (loadAddress + bytes.length > 0x1_0000_0000) {
    throw new ImageError(`raw binary of ${bytes.length} bytes at ${hex32(loadAddress)} runs past the 32-bit address space`);
  }
  return createImage([{ address: loadAddress, data: bytes.slice() }]);
}

/** The flattened image (gaps filled with 0xFF) and the address it loads at. */
export function writeRawBinary(image: FirmwareImage): { loadAddress: number; data: Uint8Array } {
  if (image.segments.length === 0) throw new ImageError('image has no data');
  const flat = flattenImage(image);
  return { loadAddress: flat.address, data: flat.data };
}
