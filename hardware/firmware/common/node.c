/*
 * Message handling per hardware/PROTOCOL.md. Replies are streamed straight to
 * the UART (frame_tx_*) so no transmit buffer is needed.
 */
#include "node.h"
#include "accel.h"
#include "board.h"
#include "compiler.h"
#include "frame.h"
#include "identity.h"
#include "platform.h"
#include "tilt.h"

#ifndef FW_VERSION_MAJOR
#error "FW_VERSION_MAJOR/MINOR/PATCH must be defined by the build (make VERSION=x.y.z)"
#endif

#define PROTOCOL_VERSION 1u

#ifdef FW_SILENT_IDENTIFY
#define ANSWERS_IDENTIFY 0
#else
#define ANSWERS_IDENTIFY 1
#endif

#define MSG_PING 0x01u
#define MSG_IDENTIFY 0x02u
#define MSG_SET_RATE 0x03u
#define MSG_ENTER_BOOTLOADER 0x04u
#define MSG_TELEMETRY 0x10u
#define MSG_ERROR 0x7Fu
#define MSG_RESPONSE_BIT 0x80u

#define ERROR_UNKNOWN_TYPE 1u
#define ERROR_BAD_LENGTH 2u
#define ERROR_BAD_ARGUMENT 3u
#define ERROR_BAD_MAGIC 4u

#define PING_MAX_PAYLOAD 16u

#ifndef BOARD_BOOTLOADER_AT_POWER_ON
#define BOARD_BOOTLOADER_AT_POWER_ON 0
#endif
/* ENTER_BOOTLOADER_ACK payload of a chip whose loader runs only after power-on. */
#define BOOTLOADER_NEEDS_POWER_CYCLE 0x01u

#define CHANNEL_PITCH 1u
#define CHANNEL_ROLL 2u
#define CHANNEL_ACCEL_X 3u
#define CHANNEL_ACCEL_Y 4u
#define CHANNEL_ACCEL_Z 5u
#define CHANNEL_TEMPERATURE 6u
#define CHANNEL_SAMPLE_INDEX 8u
#define SAMPLE_INDEX_MASK 0x7FFFu

#if BOARD_REPORTS_TEMPERATURE
#define TELEMETRY_CHANNEL_COUNT 7u
#else
#define TELEMETRY_CHANNEL_COUNT 6u
#endif

static EP_FLASH char model[] = BOARD_MODEL;
static EP_FLASH char application[] = BOARD_APPLICATION;
static EP_FLASH uint8_t bootloader_magic[4] = { 0xB0, 0x07, 0x10, 0xAD };

#define MODEL_LENGTH ((uint8_t)(sizeof(model) - 1u))
#define APPLICATION_LENGTH ((uint8_t)(sizeof(application) - 1u))

static uint16_t telemetry_interval_ms;
static uint32_t telemetry_due_ms;
static uint16_t sample_index;
static uint8_t telemetry_seq;

static void tx_u16(uint16_t value)
{
    frame_tx_byte((uint8_t)(value & 0xFFu));
    frame_tx_byte((uint8_t)(value >> 8));
}

static void send_error(uint8_t request_type, uint8_t seq, uint8_t code)
{
    frame_tx_begin(MSG_ERROR, seq, 2);
    frame_tx_byte(request_type);
    frame_tx_byte(code);
    frame_tx_end();
}

/* IDENTIFY with the image-check flag: length (u32 LE) of flash to check; 0 = none. */
static void send_identity(uint8_t seq, uint32_t check_length)
{
    uint8_t i;
    uint32_t crc = 0;
    uint8_t checked = check_length != 0u && platform_image_check(check_length, &crc);

    frame_tx_begin(MSG_IDENTIFY | MSG_RESPONSE_BIT, seq,
                   (uint8_t)(14u + MODEL_LENGTH + APPLICATION_LENGTH + (checked ? 8u : 0u)));
    frame_tx_byte(PROTOCOL_VERSION);
    frame_tx_byte(FW_VERSION_MAJOR);
    frame_tx_byte(FW_VERSION_MINOR);
    frame_tx_byte(FW_VERSION_PATCH);
    for (i = 0; i < IDENTITY_SERIAL_LENGTH; i++) {
        frame_tx_byte(identity.serial[i]);
    }
    frame_tx_byte(MODEL_LENGTH);
    for (i = 0; i < MODEL_LENGTH; i++) {
        frame_tx_byte((uint8_t)model[i]);
    }
    frame_tx_byte(APPLICATION_LENGTH);
    for (i = 0; i < APPLICATION_LENGTH; i++) {
        frame_tx_byte((uint8_t)application[i]);
    }
    if (checked) {
        for (i = 0; i < 32u; i += 8u) {
            frame_tx_byte((uint8_t)(check_length >> i));
        }
        for (i = 0; i < 32u; i += 8u) {
            frame_tx_byte((uint8_t)(crc >> i));
        }
    }
    frame_tx_end();
}

/* IDENTIFY payload: empty, or flags (bit 0: image check) and a u32 LE length. */
static void handle_identify(uint8_t seq, const EP_XDATA uint8_t *payload, uint8_t len)
{
    uint32_t length = 0;

    if (len == 0u) {
        send_identity(seq, 0);
        return;
    }
    if (len != 5u) {
        send_error(MSG_IDENTIFY, seq, ERROR_BAD_LENGTH);
        return;
    }
    if ((payload[0] & 1u) != 0u) {
        length = (uint32_t)payload[1] | ((uint32_t)payload[2] << 8) |
                 ((uint32_t)payload[3] << 16) | ((uint32_t)payload[4] << 24);
    }
    send_identity(seq, length);
}

static void handle_set_rate(uint8_t seq, const EP_XDATA uint8_t *payload, uint8_t len)
{
    uint16_t requested;

    if (len != 2u) {
        send_error(MSG_SET_RATE, seq, ERROR_BAD_LENGTH);
        return;
    }
    requested = (uint16_t)(payload[0] | ((uint16_t)payload[1] << 8));
    /* 0 stops telemetry; 1..49 are raised to the 50 ms minimum, and the ACK
       reports the interval actually in effect. */
    if (requested != 0u && requested < TELEMETRY_MIN_INTERVAL_MS) {
        requested = TELEMETRY_MIN_INTERVAL_MS;
    }
#ifdef FW_RATE_CAP_MS
    /* The one-function change of the delta benchmark (make stm32-changed): a cap on
       the interval, so a gateway never waits longer than that for a sign of life. */
    if (requested > FW_RATE_CAP_MS) {
        requested = FW_RATE_CAP_MS;
    }
#endif
    telemetry_interval_ms = requested;
    telemetry_due_ms = platform_millis() + requested;
    frame_tx_begin(MSG_SET_RATE | MSG_RESPONSE_BIT, seq, 2);
    tx_u16(requested);
    frame_tx_end();
}

static void handle_enter_bootloader(uint8_t seq, const EP_XDATA uint8_t *payload, uint8_t len)
{
    uint8_t i;

    if (len != 4u) {
        send_error(MSG_ENTER_BOOTLOADER, seq, ERROR_BAD_LENGTH);
        return;
    }
    for (i = 0; i < 4u; i++) {
        if (payload[i] != bootloader_magic[i]) {
            send_error(MSG_ENTER_BOOTLOADER, seq, ERROR_BAD_MAGIC);
            return;
        }
    }
#if BOARD_BOOTLOADER_AT_POWER_ON
    /* Ask for a power cycle instead of hanging: the application keeps serving until then. */
    frame_tx_begin(MSG_ENTER_BOOTLOADER | MSG_RESPONSE_BIT, seq, 1);
    frame_tx_byte(BOOTLOADER_NEEDS_POWER_CYCLE);
    frame_tx_end();
#else
    frame_tx_begin(MSG_ENTER_BOOTLOADER | MSG_RESPONSE_BIT, seq, 0);
    frame_tx_end();
    /* The ACK must be on the wire before the UART changes hands. */
    platform_uart_flush();
    platform_enter_bootloader();
#endif
}

void frame_dispatch(uint8_t type, uint8_t seq, const EP_XDATA uint8_t *payload, uint8_t len)
{
    uint8_t i;

    switch (type) {
    case MSG_PING:
        if (len > PING_MAX_PAYLOAD) {
            send_error(type, seq, ERROR_BAD_LENGTH);
            break;
        }
        frame_tx_begin(MSG_PING | MSG_RESPONSE_BIT, seq, len);
        for (i = 0; i < len; i++) {
            frame_tx_byte(payload[i]);
        }
        frame_tx_end();
        break;
    case MSG_IDENTIFY:
        if (!ANSWERS_IDENTIFY) {
            break; /* rollback-test variant: boots and runs, never identifies itself */
        }
        handle_identify(seq, payload, len);
        break;
    case MSG_SET_RATE:
        handle_set_rate(seq, payload, len);
        break;
    case MSG_ENTER_BOOTLOADER:
        handle_enter_bootloader(seq, payload, len);
        break;
    default:
        send_error(type, seq, ERROR_UNKNOWN_TYPE);
        break;
    }
}

static void tx_channel(uint8_t channel, int16_t value)
{
    frame_tx_byte(channel);
    tx_u16((uint16_t)value);
}

static void send_telemetry(uint32_t now_ms)
{
    struct accel_sample sample;
    struct tilt_angles angles;

    if (!accel_read(&sample)) {
        return; /* sensor did not answer: skip this period rather than send zeros */
    }
    tilt_from_accel(sample.x_mg, sample.y_mg, sample.z_mg, &angles);

    frame_tx_begin(MSG_TELEMETRY, telemetry_seq, (uint8_t)(5u + 3u * TELEMETRY_CHANNEL_COUNT));
    frame_tx_byte((uint8_t)(now_ms & 0xFFu));
    frame_tx_byte((uint8_t)((now_ms >> 8) & 0xFFu));
    frame_tx_byte((uint8_t)((now_ms >> 16) & 0xFFu));
    frame_tx_byte((uint8_t)(now_ms >> 24));
    frame_tx_byte(TELEMETRY_CHANNEL_COUNT);
    tx_channel(CHANNEL_PITCH, angles.pitch_cdeg);
    tx_channel(CHANNEL_ROLL, angles.roll_cdeg);
    tx_channel(CHANNEL_ACCEL_X, sample.x_mg);
    tx_channel(CHANNEL_ACCEL_Y, sample.y_mg);
    tx_channel(CHANNEL_ACCEL_Z, sample.z_mg);
#if BOARD_REPORTS_TEMPERATURE
    tx_channel(CHANNEL_TEMPERATURE, sample.temperature_cc);
#endif
    tx_channel(CHANNEL_SAMPLE_INDEX, (int16_t)sample_index);
    frame_tx_end();

    telemetry_seq++;
    sample_index = (uint16_t)((sample_index + 1u) & SAMPLE_INDEX_MASK);
}

void node_init(void)
{
    (void)accel_init();
    telemetry_interval_ms = TELEMETRY_DEFAULT_INTERVAL_MS;
    telemetry_due_ms = platform_millis() + TELEMETRY_DEFAULT_INTERVAL_MS;
    sample_index = 0;
    telemetry_seq = 0;
}

void node_poll(void)
{
    uint8_t byte;
    uint32_t now_ms;

    while (platform_uart_get(&byte)) {
        frame_rx_byte(byte);
    }
    if (telemetry_interval_ms == 0u) {
        return;
    }
    now_ms = platform_millis();
    if ((int32_t)(now_ms - telemetry_due_ms) >= 0) {
        send_telemetry(now_ms);
        telemetry_due_ms += telemetry_interval_ms;
        /* After a long stall do not burst to catch up: restart the period. */
        if ((int32_t)(now_ms - telemetry_due_ms) >= 0) {
            telemetry_due_ms = now_ms + telemetry_interval_ms;
        }
    }
}
