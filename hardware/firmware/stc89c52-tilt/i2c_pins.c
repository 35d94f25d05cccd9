/*
 * MPU6050 wiring for hardware builds: SCL on P1.0, SDA on P1.1 with 4.7 k
 * pull-ups. 8051 port pins are quasi-bidirectional: writing 1 releases the line
 * (weak pull-up), writing 0 pulls it low, which is the open-drain behaviour I2C
 * needs. Not linked into emulator builds.
 */
#include <8052.h>
#include <stdint.h>
#include "i2c_bus.h"

/* Port pins come out of reset released (latch = 1): nothing to configure. */
void i2c_pins_init(void) { }

void i2c_pin_scl(uint8_t released) { P1_0 = released ? 1 : 0; }
void i2c_pin_sda(uint8_t released) { P1_1 = released ? 1 : 0; }
uint8_t i2c_pin_sda_read(void) { return P1_1 ? 1u : 0u; }
uint8_t i2c_pin_scl_read(void) { return P1_0 ? 1u : 0u; }

/* ~5 us: at 1.085 us per machine cycle, a call, three NOPs and a return. */
void i2c_pin_delay(void)
{
    __asm
        nop
        nop
        nop
    __endasm;
}
