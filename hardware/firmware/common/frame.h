/*
 * Link framing per hardware/PROTOCOL.md:
 *   SOF(0xA5) LEN TYPE SEQ PAYLOAD[LEN] CRC_HI CRC_LO, CRC over LEN..PAYLOAD.
 */
#ifndef EP_FRAME_H
#define EP_FRAME_H

#include <stdint.h>
#include "compiler.h"

#define FRAME_SOF 0xA5u
#define FRAME_MAX_PAYLOAD 64u
/* SOF + LEN + TYPE + SEQ + CRC(2) */
#define FRAME_OVERHEAD 6u

/* Feed one received byte; complete valid frames are passed to frame_dispatch(). */
void frame_rx_byte(uint8_t byte);

/*
 * Implemented by the application (node.c). Called with the payload still in the
 * receive buffer, so the handler may answer with it (PING echo) before returning.
 */
void frame_dispatch(uint8_t type, uint8_t seq, const EP_XDATA uint8_t *payload, uint8_t len);

/*
 * Streaming transmitter: no frame buffer is needed (the 8051 has none to spare),
 * the CRC is computed on the fly. Call begin, exactly `len` times byte, then end.
 */
void frame_tx_begin(uint8_t type, uint8_t seq, uint8_t len);
void frame_tx_byte(uint8_t byte);
void frame_tx_end(void);

#endif
