/*
 * MPU6050 wiring for hardware builds: SCL on PB6, SDA on PB7 (the I2C1 pins), in
 * general-purpose open-drain output mode so "1" releases the line to the pull-up
 * and the input data register still reads the real level. Bit-banged rather than
 * the I2C1 peripheral, whose F1 errata make a polled driver long. Not linked into
 * emulator builds.
 */
#include <stdint.h>
#include "i2c_bus.h"

#define REG32(address) (*(volatile uint32_t *)(address))
#define RCC_APB2ENR REG32(0x40021018u)
#define GPIOB_CRL REG32(0x40010C00u)
#define GPIOB_IDR REG32(0x40010C08u)
#define GPIOB_BSRR REG32(0x40010C10u)
#define PIN_SCL 6u
#define PIN_SDA 7u

#ifndef CORE_CLOCK_HZ
#error "CORE_CLOCK_HZ must be defined"
#endif

static void pin_release(uint32_t pin, uint8_t released)
{
    GPIOB_BSRR = released ? (1u << pin) : (1u << (pin + 16u));
}

void i2c_pin_scl(uint8_t released) { pin_release(PIN_SCL, released); }
void i2c_pin_sda(uint8_t released) { pin_release(PIN_SDA, released); }
uint8_t i2c_pin_sda_read(void) { return (uint8_t)((GPIOB_IDR >> PIN_SDA) & 1u); }
uint8_t i2c_pin_scl_read(void) { return (uint8_t)((GPIOB_IDR >> PIN_SCL) & 1u); }

/* ~5 us busy wait (3 cycles per loop iteration on the M3). */
void i2c_pin_delay(void)
{
    volatile uint32_t spins = CORE_CLOCK_HZ / 600000u;

    while (spins != 0u) {
        spins--;
    }
}

void i2c_pins_init(void)
{
    RCC_APB2ENR |= 1u << 3;                                      /* IOPBEN */
    GPIOB_CRL = (GPIOB_CRL & ~0xFF000000u) | 0x77000000u;        /* open-drain out, 50 MHz */
}
