/*
 * Bitwise CRC-16/CCITT-FALSE. A 512-byte lookup table would be faster but costs
 * 6 % of the 8051's 8 KB flash; frames are at most 70 bytes, so eight shifts per
 * byte are cheap enough on both cores.
 */
#include "crc16.h"

uint16_t crc16_update(uint16_t crc, uint8_t byte)
{
    uint8_t bit;

    crc ^= (uint16_t)((uint16_t)byte << 8);
    for (bit = 0; bit < 8; bit++) {
        if (crc & 0x8000u) {
            crc = (uint16_t)((crc << 1) ^ 0x1021u);
        } else {
            crc = (uint16_t)(crc << 1);
        }
    }
    return crc;
}
