/*
 * Bit-banged I2C master (standard mode, ~100 kHz with a 5 us half period).
 * Lines are never driven high: "released" lets the pull-up raise them, which is
 * what both an 8051 quasi-bidirectional pin written with 1 and an STM32 pin in
 * open-drain output mode do. SCL is read back so a slave may stretch the clock.
 */
#include "i2c_bus.h"

#define I2C_STRETCH_LIMIT 200u

static void scl_release_and_wait(void)
{
    uint8_t spins = 0;

    i2c_pin_scl(1);
    while (!i2c_pin_scl_read() && spins < I2C_STRETCH_LIMIT) {
        i2c_pin_delay();
        spins++;
    }
    i2c_pin_delay();
}

static void i2c_start(void)
{
    i2c_pin_sda(1);
    scl_release_and_wait();
    i2c_pin_sda(0);
    i2c_pin_delay();
    i2c_pin_scl(0);
}

static void i2c_stop(void)
{
    i2c_pin_sda(0);
    scl_release_and_wait();
    i2c_pin_sda(1);
    i2c_pin_delay();
}

/* Shift out one byte MSB first; returns 1 when the slave acknowledged. */
static uint8_t i2c_write_byte(uint8_t byte)
{
    uint8_t bit;
    uint8_t acknowledged;

    for (bit = 0; bit < 8u; bit++) {
        i2c_pin_sda((uint8_t)((byte & 0x80u) != 0u));
        byte = (uint8_t)(byte << 1);
        scl_release_and_wait();
        i2c_pin_scl(0);
    }
    i2c_pin_sda(1);
    scl_release_and_wait();
    acknowledged = (uint8_t)!i2c_pin_sda_read();
    i2c_pin_scl(0);
    return acknowledged;
}

static uint8_t i2c_read_byte(uint8_t acknowledge)
{
    uint8_t bit;
    uint8_t byte = 0;

    i2c_pin_sda(1);
    for (bit = 0; bit < 8u; bit++) {
        scl_release_and_wait();
        byte = (uint8_t)((byte << 1) | (i2c_pin_sda_read() ? 1u : 0u));
        i2c_pin_scl(0);
    }
    i2c_pin_sda((uint8_t)!acknowledge);
    scl_release_and_wait();
    i2c_pin_scl(0);
    i2c_pin_sda(1);
    return byte;
}

void i2c_bus_init(void)
{
    i2c_pins_init();
    i2c_pin_sda(1);
    i2c_pin_scl(1);
    i2c_pin_delay();
}

uint8_t i2c_write_register(uint8_t address, uint8_t reg, uint8_t value)
{
    uint8_t ok;

    i2c_start();
    ok = i2c_write_byte((uint8_t)(address << 1));
    ok = (uint8_t)(ok && i2c_write_byte(reg));
    ok = (uint8_t)(ok && i2c_write_byte(value));
    i2c_stop();
    return ok;
}

uint8_t i2c_read_registers(uint8_t address, uint8_t reg, uint8_t *out, uint8_t count)
{
    uint8_t i;

    i2c_start();
    if (!i2c_write_byte((uint8_t)(address << 1)) || !i2c_write_byte(reg)) {
        i2c_stop();
        return 0;
    }
    i2c_start(); /* repeated start, then the read address */
    if (!i2c_write_byte((uint8_t)((address << 1) | 1u))) {
        i2c_stop();
        return 0;
    }
    for (i = 0; i < count; i++) {
        out[i] = i2c_read_byte((uint8_t)(i + 1u < count));
    }
    i2c_stop();
    return 1;
}
