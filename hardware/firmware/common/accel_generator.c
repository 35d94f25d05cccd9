/*
 * Deterministic sample source for emulator builds (PROTOCOL.md, "Deterministic
 * sample generator"): sample i is entry i mod 8 of the tables below, i counting
 * reads since boot. The firmware reads exactly one sample per telemetry frame, so
 * i equals the frame's sample_index channel.
 *
 * Temperature is not in PROTOCOL.md; the generator makes it equally predictable:
 * 25.00 degC + 0.10 degC * (i mod 8).
 */
#include "accel.h"
#include "compiler.h"

#define GENERATOR_PERIOD 8u

static EP_FLASH int16_t table_x[GENERATOR_PERIOD] = { 0, 500, -500, 0, 707, -707, 259, 0 };
static EP_FLASH int16_t table_y[GENERATOR_PERIOD] = { 0, 0, 0, 500, 0, 707, -259, 866 };
static EP_FLASH int16_t table_z[GENERATOR_PERIOD] = { 1000, 866, 866, 866, 707, 0, 930, 500 };

static uint8_t generator_index;

uint8_t accel_init(void)
{
    generator_index = 0;
    return 1;
}

uint8_t accel_read(struct accel_sample *out)
{
    uint8_t i = (uint8_t)(generator_index & (GENERATOR_PERIOD - 1u));

    out->x_mg = table_x[i];
    out->y_mg = table_y[i];
    out->z_mg = table_z[i];
    out->temperature_cc = (int16_t)(2500 + 10 * (int16_t)i);
    generator_index++;
    return 1;
}
