/* STC89C52 tilt sensor: what it reports over the link (see common/node.h). */
#ifndef EP_BOARD_H
#define EP_BOARD_H

#define BOARD_MODEL "stc89c52"
#define BOARD_APPLICATION "tilt"
#define BOARD_REPORTS_TEMPERATURE 0

#endif
