/*
 * Host check of the integer CORDIC (tilt.c) against double-precision atan2, the
 * same formula as the JS reference Math.round(deg * 100) in PROTOCOL.md.
 *   gcc -O2 -I.. tilt_check.c ../tilt.c -lm && ./a.out
 * Prints the 8 generator samples and the largest deviation over a grid covering
 * +-2 g on every axis; exits 1 if any deviation exceeds the allowed 2 (0.02 deg).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "tilt.h"

#define ALLOWED_DEVIATION 2

static const int16_t table_x[8] = { 0, 500, -500, 0, 707, -707, 259, 0 };
static const int16_t table_y[8] = { 0, 0, 0, 500, 0, 707, -259, 866 };
static const int16_t table_z[8] = { 1000, 866, 866, 866, 707, 0, 930, 500 };

/* JS Math.round: floor(x + 0.5). */
static long js_round(double x) { return (long)floor(x + 0.5); }

static long reference_pitch(int ax, int ay, int az)
{
    return js_round(atan2(-(double)ax, sqrt((double)ay * ay + (double)az * az)) * 180.0 / M_PI * 100.0);
}

static long reference_roll(int ay, int az)
{
    return js_round(atan2((double)ay, (double)az) * 180.0 / M_PI * 100.0);
}

int main(void)
{
    struct tilt_angles angles;
    long worst = 0;
    long exact = 0;
    long total = 0;
    int i;
    int ax;
    int ay;
    int az;

    for (i = 0; i < 8; i++) {
        tilt_from_accel(table_x[i], table_y[i], table_z[i], &angles);
        printf("sample %d: pitch %d (ref %ld) roll %d (ref %ld)\n", i, angles.pitch_cdeg,
               reference_pitch(table_x[i], table_y[i], table_z[i]), angles.roll_cdeg,
               reference_roll(table_y[i], table_z[i]));
    }
    for (ax = -2000; ax <= 2000; ax += 37) {
        for (ay = -2000; ay <= 2000; ay += 41) {
            for (az = -2000; az <= 2000; az += 43) {
                long dp;
                long dr;
                tilt_from_accel((int16_t)ax, (int16_t)ay, (int16_t)az, &angles);
                dp = labs(angles.pitch_cdeg - reference_pitch(ax, ay, az));
                dr = labs(angles.roll_cdeg - reference_roll(ay, az));
                /* roll at exactly +-180 deg: both spellings are the same angle */
                if (dr == 36000) {
                    dr = 0;
                }
                if (dp > worst) worst = dp;
                if (dr > worst) worst = dr;
                exact += (dp == 0) + (dr == 0);
                total += 2;
            }
        }
    }
    /* extremes of the int16 range */
    tilt_from_accel(-32768, -32768, -32768, &angles);
    printf("extreme: pitch %d (ref %ld) roll %d (ref %ld)\n", angles.pitch_cdeg,
           reference_pitch(-32768, -32768, -32768), angles.roll_cdeg, reference_roll(-32768, -32768));
    printf("grid: %ld angles, %ld exact, worst deviation %ld (allowed %d)\n", total, exact, worst,
           ALLOWED_DEVIATION);
    return worst > ALLOWED_DEVIATION ? 1 : 0;
}
