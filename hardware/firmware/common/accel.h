/*
 * One accelerometer sample, whatever produced it: the MPU6050 over I2C on real
 * boards (mpu6050.c) or the deterministic table of PROTOCOL.md in emulator builds
 * (accel_generator.c, selected with -DSAMPLE_SOURCE_GENERATOR).
 */
#ifndef EP_ACCEL_H
#define EP_ACCEL_H

#include <stdint.h>

struct accel_sample {
    int16_t x_mg;             /* acceleration along X, milli-g */
    int16_t y_mg;
    int16_t z_mg;
    int16_t temperature_cc;   /* sensor die temperature, 0.01 degC */
};

/* Prepare the sample source (configure the sensor). Returns 1 on success. */
uint8_t accel_init(void);

/* Read the next sample. Returns 1 on success, 0 if the sensor did not answer. */
uint8_t accel_read(struct accel_sample *out);

#endif
