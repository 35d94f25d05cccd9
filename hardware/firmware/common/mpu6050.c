/*
 * InvenSense MPU-6050 accelerometer over I2C (register map rev 4.2). Built only
 * for hardware images (without -DSAMPLE_SOURCE_GENERATOR); the emulators have no
 * I2C sensor, so emulator builds link accel_generator.c instead.
 *
 * Full scale is left at +-2 g (ACCEL_CONFIG = 0), i.e. 16384 LSB/g: mg = raw / 16.384,
 * computed as raw * 125 / 2048 in 32 bits to stay exact without floats.
 */
#include "accel.h"
#include "i2c_bus.h"

#define MPU6050_ADDRESS 0x68u        /* AD0 tied low */
#define MPU6050_PWR_MGMT_1 0x6Bu
#define MPU6050_SMPLRT_DIV 0x19u
#define MPU6050_CONFIG 0x1Au
#define MPU6050_ACCEL_CONFIG 0x1Cu
#define MPU6050_ACCEL_XOUT_H 0x3Bu   /* X, Y, Z, TEMP, then gyro: 14 bytes */
#define MPU6050_WHO_AM_I 0x75u

static int16_t be16(const uint8_t *p)
{
    return (int16_t)(((uint16_t)p[0] << 8) | p[1]);
}

static int16_t raw_to_mg(int16_t raw)
{
    return (int16_t)(((int32_t)raw * 125) / 2048);
}

uint8_t accel_init(void)
{
    uint8_t who_am_i = 0;

    i2c_bus_init();
    if (!i2c_read_registers(MPU6050_ADDRESS, MPU6050_WHO_AM_I, &who_am_i, 1) || who_am_i != 0x68u) {
        return 0;
    }
    /* Leave sleep mode, clock from the X gyro PLL (more stable than the 8 MHz RC). */
    if (!i2c_write_register(MPU6050_ADDRESS, MPU6050_PWR_MGMT_1, 0x01u)) {
        return 0;
    }
    /* 44 Hz digital low-pass filter: tilt is slow, vibration is noise. */
    (void)i2c_write_register(MPU6050_ADDRESS, MPU6050_CONFIG, 0x03u);
    (void)i2c_write_register(MPU6050_ADDRESS, MPU6050_SMPLRT_DIV, 9u);
    return i2c_write_register(MPU6050_ADDRESS, MPU6050_ACCEL_CONFIG, 0x00u);
}

uint8_t accel_read(struct accel_sample *out)
{
    uint8_t raw[8];
    int16_t temperature_raw;

    if (!i2c_read_registers(MPU6050_ADDRESS, MPU6050_ACCEL_XOUT_H, raw, 8)) {
        return 0;
    }
    out->x_mg = raw_to_mg(be16(&raw[0]));
    out->y_mg = raw_to_mg(be16(&raw[2]));
    out->z_mg = raw_to_mg(be16(&raw[4]));
    /* Datasheet: T(degC) = raw / 340 + 36.53, so 0.01 degC = raw * 100 / 340 + 3653. */
    temperature_raw = be16(&raw[6]);
    out->temperature_cc = (int16_t)(((int32_t)temperature_raw * 100) / 340 + 3653);
    return 1;
}
