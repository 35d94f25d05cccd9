/*
 * Portability shims between SDCC (mcs51) and GCC (Cortex-M3).
 *
 * The 8051 has three address spaces: 128/256 B of internal RAM (IRAM, where SDCC's
 * small model puts every variable), external RAM (XRAM, 256 B on-chip "auxiliary
 * RAM" on the STC89C52, reached with MOVX) and code memory (flash, read with MOVC).
 * Anything bigger than a few bytes goes to XRAM, constant tables stay in flash.
 * On the Cortex-M3 there is one flat address space, so the qualifiers vanish.
 */
#ifndef EP_COMPILER_H
#define EP_COMPILER_H

#include <stdint.h>

#ifdef __SDCC
#define EP_XDATA __xdata          /* buffer lives in external/auxiliary RAM */
#define EP_FLASH const __code     /* constant lives in code memory (MOVC) */
#else
#define EP_XDATA
#define EP_FLASH const
#endif

#endif
