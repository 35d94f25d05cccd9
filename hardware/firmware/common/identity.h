/*
 * The chip's serial number as the firmware reports it in IDENTITY.
 *
 * It sits in flash right after the 8-byte marker "EPSERIAL", in its own
 * translation unit so the compiler cannot fold the bytes into code: the bytes are
 * really read from flash at run time. That makes two ways of choosing it honest:
 *   - at build time:  make SERIAL=0123456789abcdef  (default per board, Makefile);
 *   - on the bench:   the bench finds the marker in the image it boots and writes
 *     the chip's serial after it, modelling a per-chip unique ID (see
 *     hardware/bench/serial-patch.ts). Flash contents read back over the
 *     bootloader are never changed by this.
 */
#ifndef EP_IDENTITY_H
#define EP_IDENTITY_H

#include <stdint.h>
#include "compiler.h"

#define IDENTITY_MARKER_LENGTH 8u
#define IDENTITY_SERIAL_LENGTH 8u

struct identity_block {
    char marker[IDENTITY_MARKER_LENGTH];       /* "EPSERIAL", no terminator */
    uint8_t serial[IDENTITY_SERIAL_LENGTH];
};

extern EP_FLASH struct identity_block identity;

#endif
