/*
 * Pitch and roll from one accelerometer sample, as PROTOCOL.md defines them:
 *   pitch = atan2(-ax, sqrt(ay^2 + az^2)),  roll = atan2(ay, az)
 * in 0.01 degree, rounded to nearest (halves towards +infinity like JS Math.round).
 */
#ifndef EP_TILT_H
#define EP_TILT_H

#include <stdint.h>

struct tilt_angles {
    int16_t pitch_cdeg;
    int16_t roll_cdeg;
};

void tilt_from_accel(int16_t ax, int16_t ay, int16_t az, struct tilt_angles *out);

#endif
