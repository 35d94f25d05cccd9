/*
 * The MCU side of the edgepilot link protocol (hardware/PROTOCOL.md): answers
 * PING, IDENTIFY, SET_RATE and ENTER_BOOTLOADER, and sends TELEMETRY.
 *
 * The board supplies board.h (found on the include path) with:
 *   BOARD_MODEL, BOARD_APPLICATION       strings reported in IDENTITY
 *   BOARD_REPORTS_TEMPERATURE            1 to add the temperature channel
 * and the build supplies FW_VERSION_MAJOR/MINOR/PATCH. Defining
 * FW_SILENT_IDENTIFY builds the rollback-test variant that never answers IDENTIFY.
 */
#ifndef EP_NODE_H
#define EP_NODE_H

#include <stdint.h>

#define TELEMETRY_DEFAULT_INTERVAL_MS 1000u
#define TELEMETRY_MIN_INTERVAL_MS 50u

void node_init(void);

/* Call from the main loop: drains received bytes, sends telemetry when due. */
void node_poll(void);

#endif
