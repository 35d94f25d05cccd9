/*
 * STC89C52 tilt sensor (8051 core, 12 clocks per machine cycle, 11.0592 MHz).
 *
 * UART: mode 1 (8N1) clocked by Timer 2 in baud-rate-generator mode. With an
 * 11.0592 MHz crystal Timer 1 cannot reach 115200 (its fastest standard rate is
 * 57600 with SMOD = 1), but Timer 2 divides by 32 instead of 384:
 *   RCAP2 = 65536 - f_osc / (32 * baud) = 65536 - 3 = 0xFFFD for 115200 (exact).
 * Receiving is interrupt driven into a ring buffer in XRAM: the integer CORDIC
 * behind a telemetry frame takes milliseconds here, while a byte arrives every
 * 87 us, and SBUF holds only one.
 *
 * Timer 0 (mode 1, 16 bit) interrupts every 1 ms for the millisecond clock:
 * 11.0592 MHz / 12 = 921.6 kHz, so 922 counts per ms (0.04 % slow).
 *
 * Between events the core sits in idle mode (PCON.IDL): the clock keeps running
 * for the timers and the UART, and the next interrupt (received byte or 1 ms tick)
 * wakes it.
 *
 * Interrupt service routines must be declared in the file that holds main()
 * (an SDCC rule), hence everything board-specific lives here.
 */
#include <8052.h>
#include <stdint.h>
#include "compiler.h"
#include "node.h"
#include "platform.h"

#define OSCILLATOR_HZ 11059200UL
#ifndef UART_BAUD
#define UART_BAUD 115200UL
#endif
#define TIMER2_RELOAD (65536UL - OSCILLATOR_HZ / (32UL * UART_BAUD))
#define TIMER0_RELOAD (65536U - 922U)

#define RX_RING_SIZE 32u /* power of two */

static volatile uint32_t millis_since_boot;
static EP_XDATA volatile uint8_t rx_ring[RX_RING_SIZE];
static volatile uint8_t rx_head;   /* written by the serial ISR only */
static uint8_t rx_tail;            /* written by the main loop only */
static volatile __bit tx_busy;

void timer0_isr(void) __interrupt(1)
{
    TH0 = (uint8_t)(TIMER0_RELOAD >> 8);
    TL0 = (uint8_t)(TIMER0_RELOAD & 0xFFu);
    millis_since_boot++;
}

void serial_isr(void) __interrupt(4)
{
    if (RI) {
        uint8_t next = (uint8_t)((rx_head + 1u) & (RX_RING_SIZE - 1u));

        RI = 0;
        if (next != rx_tail) { /* full: drop, the frame layer resynchronises */
            rx_ring[rx_head] = SBUF;
            rx_head = next;
        }
    }
    if (TI) {
        TI = 0;
        tx_busy = 0;
    }
}

void platform_uart_put(uint8_t byte)
{
    while (tx_busy) {
    }
    tx_busy = 1;
    SBUF = byte;
}

uint8_t platform_uart_get(uint8_t *byte)
{
    if (rx_tail == rx_head) {
        return 0;
    }
    *byte = rx_ring[rx_tail];
    rx_tail = (uint8_t)((rx_tail + 1u) & (RX_RING_SIZE - 1u));
    return 1;
}

void platform_uart_flush(void)
{
    while (tx_busy) {
    }
}

uint32_t platform_millis(void)
{
    uint32_t now;

    /* A 32-bit read is four byte moves on the 8051: keep the tick out meanwhile. */
    ET0 = 0;
    now = millis_since_boot;
    ET0 = 1;
    return now;
}

uint8_t platform_image_check(uint32_t length, uint32_t *crc)
{
    /* Not on the 8051: a bitwise CRC-32 of 8 KB would stall it for seconds. */
    (void)length;
    (void)crc;
    return 0;
}

void platform_enter_bootloader(void)
{
    /*
     * Not called on this board: its ISP loader runs only from a cold start, so
     * ENTER_BOOTLOADER answers "power-cycle me" instead (BOARD_BOOTLOADER_AT_POWER_ON
     * in board.h). Kept for the platform interface: stop quietly.
     */
    EA = 0;
    for (;;) {
    }
}

/*
 * Idle until the next interrupt unless a byte is already waiting. The 8051 always
 * executes the instruction after a write to IE before taking an interrupt, so a
 * byte arriving after the check is taken after "SETB EA; ORL PCON,#1": the pending
 * interrupt ends idle mode at once instead of being missed.
 */
static void idle_until_interrupt(void)
{
    EA = 0;
    if (rx_tail == rx_head) {
        EA = 1;
        PCON |= 0x01; /* IDL */
    } else {
        EA = 1;
    }
}

static void uart_init(void)
{
    SCON = 0x50;                 /* mode 1 (8-bit UART, variable baud), REN = 1 */
    RCAP2H = (uint8_t)(TIMER2_RELOAD >> 8);
    RCAP2L = (uint8_t)(TIMER2_RELOAD & 0xFFu);
    TH2 = RCAP2H;
    TL2 = RCAP2L;
    T2CON = 0x34;                /* RCLK = TCLK = 1 (baud generator), TR2 = 1 */
    tx_busy = 0;
    ES = 1;
}

static void timer0_init(void)
{
    TMOD = (uint8_t)((TMOD & 0xF0u) | 0x01u); /* timer 0: mode 1, 16-bit */
    TH0 = (uint8_t)(TIMER0_RELOAD >> 8);
    TL0 = (uint8_t)(TIMER0_RELOAD & 0xFFu);
    ET0 = 1;
    TR0 = 1;
}

void main(void)
{
    uart_init();
    timer0_init();
    EA = 1;
    node_init();
    for (;;) {
        node_poll();
        idle_until_interrupt();
    }
}
