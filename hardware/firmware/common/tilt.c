/*
 * Integer CORDIC for pitch and roll, identical on both cores.
 *
 * Why not floats: the Cortex-M3 build links no libm (-nostdlib), and on the 8051
 * SDCC's atan2f + sqrtf would take a large share of the 8 KB flash. One integer
 * routine gives bit-identical answers on both MCUs, which keeps the bench tests
 * simple.
 *
 * Vectoring mode rotates (x, y) onto the positive x axis in steps of atan(2^-i),
 * summing the step angles: the sum is atan2(y, x) and the final x is K * |(x, y)|
 * with K = prod sqrt(1 + 2^-2i) ~= 1.64676. Roll is one vectoring of (az, ay);
 * its final x is K * sqrt(ay^2 + az^2), exactly the denominator pitch needs, so
 * pitch is a second vectoring of (K * sqrt(ay^2 + az^2), K * -ax): scaling -ax by K
 * instead of dividing the magnitude by K keeps everything in integers.
 *
 * Precision (measured by tests/tilt_check.c against double atan2 over the whole
 * +-2 g range): inputs are normalised to 2^26..2^27 so truncation in the shifts is
 * far below 0.01 degree; 20 iterations leave a residual below atan(2^-19) = 0.00011
 * degree. Angles are accumulated in 1/256 of 0.01 degree (45 deg = 1,152,000), so
 * +-180 deg fits easily in 32 bits.
 */
#include "tilt.h"
#include "compiler.h"

#define CORDIC_STEPS 20u
#define ANGLE_FRACTION_BITS 8              /* angle unit = 0.01 deg / 256 */
#define ANGLE_180_DEG (18000L * 256L)
#define NORMALISED_MIN (1L << 26)          /* inputs scaled into [2^26, 2^27) */
#define CORDIC_GAIN_Q15 53961L             /* K = 1.6467602581 in Q15 */

/* round(atan(2^-i) in degrees * 100 * 256) */
static EP_FLASH int32_t atan_steps[CORDIC_STEPS] = {
    1152000L, 680065L, 359328L, 182400L, 91554L, 45822L, 22916L, 11459L, 5730L, 2865L,
    1432L, 716L, 358L, 179L, 90L, 45L, 22L, 11L, 6L, 3L
};

/* CORDIC state shared by the two steps (static: SDCC functions are not reentrant
   anyway, and the 8051 stack is too small for 32-bit locals). */
static int32_t vec_x;
static int32_t vec_y;

/*
 * Vectoring: on return vec_x = K * |(x, y)| and the result is atan2(y, x) in
 * angle units. Right shifts of negative values are arithmetic on both compilers.
 */
static int32_t cordic_vectoring(void)
{
    int32_t angle = 0;
    int32_t next_x;
    uint8_t i;

    if (vec_x < 0) {
        /* CORDIC converges only for |angle| < 99.9 deg: rotate by 180 deg first. */
        angle = (vec_y >= 0) ? ANGLE_180_DEG : -ANGLE_180_DEG;
        vec_x = -vec_x;
        vec_y = -vec_y;
    }
    for (i = 0; i < CORDIC_STEPS; i++) {
        if (vec_y > 0) {
            next_x = vec_x + (vec_y >> i);
            vec_y -= vec_x >> i;
            angle += atan_steps[i];
        } else {
            next_x = vec_x - (vec_y >> i);
            vec_y += vec_x >> i;
            angle -= atan_steps[i];
        }
        vec_x = next_x;
    }
    return angle;
}

/* value * K for 0 <= |value| < 2^27, split so no product exceeds 31 bits. */
static int32_t times_cordic_gain(int32_t value)
{
    uint8_t negative = (uint8_t)(value < 0);
    uint32_t magnitude = (uint32_t)(negative ? -value : value);
    uint32_t high = magnitude >> 15;
    uint32_t low = magnitude & 0x7FFFu;
    uint32_t product = high * (uint32_t)CORDIC_GAIN_Q15 +
                       ((low * (uint32_t)CORDIC_GAIN_Q15 + 0x4000u) >> 15);

    return negative ? -(int32_t)product : (int32_t)product;
}

/* angle units -> 0.01 deg, rounding halves up (floor(a/256 + 1/2)). */
static int16_t angle_to_cdeg(int32_t angle)
{
    return (int16_t)((angle + (1L << (ANGLE_FRACTION_BITS - 1))) >> ANGLE_FRACTION_BITS);
}

static uint32_t magnitude_of(int16_t v)
{
    return (uint32_t)(v < 0 ? -(int32_t)v : (int32_t)v);
}

void tilt_from_accel(int16_t ax, int16_t ay, int16_t az, struct tilt_angles *out)
{
    uint32_t largest = magnitude_of(ax);
    uint8_t shift = 0;
    int32_t roll;

    if (magnitude_of(ay) > largest) {
        largest = magnitude_of(ay);
    }
    if (magnitude_of(az) > largest) {
        largest = magnitude_of(az);
    }
    if (largest == 0u) {
        out->pitch_cdeg = 0; /* atan2(0, 0) = 0 in JS, too */
        out->roll_cdeg = 0;
        return;
    }
    while (largest < (uint32_t)NORMALISED_MIN) {
        largest <<= 1;
        shift++;
    }

    vec_x = (int32_t)az << shift;
    vec_y = (int32_t)ay << shift;
    roll = cordic_vectoring();

    /* vec_x now holds K * sqrt(ay^2 + az^2) (scaled), always >= 0. */
    vec_y = times_cordic_gain(-((int32_t)ax << shift));
    out->pitch_cdeg = angle_to_cdeg(cordic_vectoring());
    out->roll_cdeg = angle_to_cdeg(roll);
}
