/* STM32F103 environment node: what it reports over the link (see common/node.h). */
#ifndef EP_BOARD_H
#define EP_BOARD_H

#define BOARD_MODEL "stm32f103"
#define BOARD_APPLICATION "env-node"
#define BOARD_REPORTS_TEMPERATURE 1

#endif
