/* STC89C52 tilt sensor: what it reports over the link (see common/node.h). */
#ifndef EP_BOARD_H
#define EP_BOARD_H

#define BOARD_MODEL "stc89c52"
#define BOARD_APPLICATION "tilt"
#define BOARD_REPORTS_TEMPERATURE 0
/*
 * The STC89's ISP loader runs only from a cold start (it listens for 0x7F right after
 * power-on), so ENTER_BOOTLOADER cannot jump to it: the firmware answers that the host
 * must cycle the power, and keeps running until it does.
 */
#define BOARD_BOOTLOADER_AT_POWER_ON 1

#endif
