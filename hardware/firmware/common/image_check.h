/*
 * CRC-32 of the application's own flash, for IDENTIFY with the image-check flag
 * (PROTOCOL.md): the gateway compares it with the CRC-32 of the image it wrote
 * instead of reading the whole flash back through the bootloader.
 */
#ifndef EP_IMAGE_CHECK_H
#define EP_IMAGE_CHECK_H

#include <stdint.h>

/*
 * CRC-32 (IEEE 802.3: reflected, polynomial 0xEDB88320, initial and final XOR
 * 0xFFFFFFFF) of `length` bytes from `base`. The 8 serial bytes after the
 * "EPSERIAL" marker count with the value they were built with: the bench writes
 * the chip's serial there in the copy it runs (hardware/bench/serial-patch.ts),
 * which is not part of the image the gateway flashed.
 */
uint32_t image_crc32(const uint8_t *base, uint32_t length);

#endif
