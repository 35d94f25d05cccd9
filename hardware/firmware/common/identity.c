/* See identity.h. FW_SERIAL_BYTES is eight comma-separated byte values from the Makefile. */
#include "identity.h"

#ifndef FW_SERIAL_BYTES
#error "FW_SERIAL_BYTES must be defined by the build (make SERIAL=<16 hex digits>)"
#endif

EP_FLASH struct identity_block identity = {
    { 'E', 'P', 'S', 'E', 'R', 'I', 'A', 'L' },
    { FW_SERIAL_BYTES }
};
