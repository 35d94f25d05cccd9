/* See image_check.h. Bitwise, no table: 64 KB take a few ms at 72 MHz, on request only. */
#include "image_check.h"
#include "identity.h"

static const uint8_t built_serial[IDENTITY_SERIAL_LENGTH] = { FW_SERIAL_BYTES };

uint32_t image_crc32(const uint8_t *base, uint32_t length)
{
    const uint8_t *serial = (const uint8_t *)identity.serial;
    uint32_t crc = 0xFFFFFFFFu;
    uint32_t i;
    uint8_t bit;

    for (i = 0; i < length; i++) {
        const uint8_t *at = base + i;
        uint8_t byte = *at;
        if (at >= serial && at < serial + IDENTITY_SERIAL_LENGTH) {
            byte = built_serial[at - serial];
        }
        crc ^= byte;
        for (bit = 0; bit < 8u; bit++) {
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
        }
    }
    return crc ^ 0xFFFFFFFFu;
}
