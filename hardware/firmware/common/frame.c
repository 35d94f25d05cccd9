/*
 * Frame receiver with the resynchronisation rule of PROTOCOL.md: on a bad length
 * or CRC only the SOF byte is discarded and the hunt restarts at the next byte,
 * so a real frame hidden behind garbage (or behind a false 0xA5) is still found.
 *
 * To rescan after a failure the bytes already received must be kept: the buffer
 * holds one maximum frame (70 bytes), in XRAM on the 8051. Shifting it by one
 * byte costs at most 69 moves, which only happens on corrupted input.
 */
#include "frame.h"
#include "crc16.h"
#include "platform.h"

static EP_XDATA uint8_t rx_buf[FRAME_MAX_PAYLOAD + FRAME_OVERHEAD];
static uint8_t rx_count;

static uint16_t tx_crc;

/* Drop the first `n` bytes of the receive buffer. */
static void rx_discard(uint8_t n)
{
    uint8_t i;

    for (i = n; i < rx_count; i++) {
        rx_buf[i - n] = rx_buf[i];
    }
    rx_count = (uint8_t)(rx_count - n);
}

static uint8_t rx_crc_ok(uint8_t payload_len)
{
    uint16_t crc = CRC16_INIT;
    uint8_t i;
    uint8_t crc_at = (uint8_t)(4u + payload_len);

    /* CRC covers LEN TYPE SEQ PAYLOAD, i.e. buffer indexes 1 .. 3+LEN. */
    for (i = 1; i < crc_at; i++) {
        crc = crc16_update(crc, rx_buf[i]);
    }
    return (uint8_t)(rx_buf[crc_at] == (uint8_t)(crc >> 8) &&
                     rx_buf[crc_at + 1u] == (uint8_t)(crc & 0xFFu));
}

void frame_rx_byte(uint8_t byte)
{
    uint8_t payload_len;
    uint8_t total;

    rx_buf[rx_count] = byte;
    rx_count++;

    /* Scan until the buffer is empty or holds the valid prefix of a frame. */
    while (rx_count != 0u) {
        if (rx_buf[0] != FRAME_SOF) {
            rx_discard(1);
            continue;
        }
        if (rx_count < 2u) {
            return;
        }
        payload_len = rx_buf[1];
        if (payload_len > FRAME_MAX_PAYLOAD) {
            rx_discard(1);
            continue;
        }
        total = (uint8_t)(payload_len + FRAME_OVERHEAD);
        if (rx_count < total) {
            return;
        }
        if (rx_crc_ok(payload_len)) {
            frame_dispatch(rx_buf[2], rx_buf[3], &rx_buf[4], payload_len);
            rx_discard(total);
        } else {
            rx_discard(1);
        }
    }
}

void frame_tx_begin(uint8_t type, uint8_t seq, uint8_t len)
{
    platform_uart_put(FRAME_SOF);
    tx_crc = CRC16_INIT;
    frame_tx_byte(len);
    frame_tx_byte(type);
    frame_tx_byte(seq);
}

void frame_tx_byte(uint8_t byte)
{
    tx_crc = crc16_update(tx_crc, byte);
    platform_uart_put(byte);
}

void frame_tx_end(void)
{
    platform_uart_put((uint8_t)(tx_crc >> 8));
    platform_uart_put((uint8_t)(tx_crc & 0xFFu));
}
