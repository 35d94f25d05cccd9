/*
 * Minimal I2C master used by the MPU6050 driver. i2c_bitbang.c implements it on
 * two open-drain GPIO lines described by the board (i2c_pins.h hooks below), which
 * works the same on an 8051 port pin and on an STM32 GPIO in open-drain mode.
 */
#ifndef EP_I2C_BUS_H
#define EP_I2C_BUS_H

#include <stdint.h>

void i2c_bus_init(void);

/* Write `value` to register `reg` of the 7-bit device `address`. 1 = acknowledged. */
uint8_t i2c_write_register(uint8_t address, uint8_t reg, uint8_t value);

/* Read `count` consecutive registers starting at `reg` into `out`. 1 = acknowledged. */
uint8_t i2c_read_registers(uint8_t address, uint8_t reg, uint8_t *out, uint8_t count);

/* Board hooks: configure the pins, release (1) or pull low (0) a line, sample a
   line, wait ~5 us. */
void i2c_pins_init(void);
void i2c_pin_scl(uint8_t released);
void i2c_pin_sda(uint8_t released);
uint8_t i2c_pin_sda_read(void);
uint8_t i2c_pin_scl_read(void);
void i2c_pin_delay(void);

#endif
