/*
 * What the shared protocol code needs from a board. Each firmware directory
 * implements these in its main.c; nothing here knows about registers.
 */
#ifndef EP_PLATFORM_H
#define EP_PLATFORM_H

#include <stdint.h>

/* Queue one byte for transmission; blocks while the transmitter is busy. */
void platform_uart_put(uint8_t byte);

/* Take one received byte if there is one: returns 1 and stores it, else 0. */
uint8_t platform_uart_get(uint8_t *byte);

/* Wait until every queued byte has left the shift register. */
void platform_uart_flush(void);

/* Milliseconds since boot, wrapping at 2^32. */
uint32_t platform_millis(void);

/*
 * CRC-32 of the first `length` bytes of the application flash (image_check.h).
 * Returns 0 when the board cannot (the range is outside its flash, or the board
 * does not implement it); IDENTITY then goes without the image check.
 */
uint8_t platform_image_check(uint32_t length, uint32_t *crc);

/* Hand the UART to the system bootloader. Does not return. */
void platform_enter_bootloader(void);

#endif
