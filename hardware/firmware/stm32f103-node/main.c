/*
 * STM32F103 environment node: bare-metal USART1, SysTick millisecond clock.
 * Registers are from RM0008 (STM32F101/102/103 reference manual).
 *
 * Transmission is polled (wait for TXE, write DR). Reception uses the RXNE
 * interrupt into a ring buffer, so the core can sleep in WFI between events: a
 * purely polled receiver would have to spin (one busy-looping QEMU costs a whole
 * host core, and on the board it wastes power), and sleeping up to a millisecond
 * between polls would overrun the one-byte data register, which a new byte
 * replaces every 87 us at 115200 baud.
 */
#include <stdint.h>
#include "image_check.h"
#include "node.h"
#include "platform.h"

/* STM32F103C8 main flash (RM0008 §3.3.3); the application's image starts at its base. */
#define FLASH_BASE_ADDRESS 0x08000000u
#define FLASH_SIZE_BYTES (64u * 1024u)

#ifndef CORE_CLOCK_HZ
/* Clock of SysTick and of APB2 (USART1). QEMU's stm32vldiscovery runs SysTick at
   24 MHz; a real F103 without PLL setup runs from the 8 MHz HSI. Set by the Makefile. */
#error "CORE_CLOCK_HZ must be defined"
#endif
#ifndef UART_BAUD
#define UART_BAUD 115200u
#endif

#define REG32(address) (*(volatile uint32_t *)(address))

/* RCC (RM0008 7.3) */
#define RCC_APB2ENR REG32(0x40021018u)
#define RCC_APB2ENR_IOPAEN (1u << 2)
#define RCC_APB2ENR_USART1EN (1u << 14)

/* GPIOA (RM0008 9.2): PA9 = USART1_TX, PA10 = USART1_RX */
#define GPIOA_CRH REG32(0x40010804u)

/* USART1 (RM0008 27.6) */
#define USART1_SR REG32(0x40013800u)
#define USART1_DR REG32(0x40013804u)
#define USART1_BRR REG32(0x40013808u)
#define USART1_CR1 REG32(0x4001380Cu)
#define USART_SR_RXNE (1u << 5)
#define USART_SR_TC (1u << 6)
#define USART_SR_TXE (1u << 7)
#define USART_CR1_RE (1u << 2)
#define USART_CR1_RXNEIE (1u << 5)
#define USART_CR1_TE (1u << 3)
#define USART_CR1_UE (1u << 13)

/* RCC clock control and flash wait states (RM0008 7.3.1, 7.3.2, 3.3.3) */
#define RCC_CR REG32(0x40021000u)
#define RCC_CFGR REG32(0x40021004u)
#define FLASH_ACR REG32(0x40022000u)

/* SysTick (ARMv7-M B3.3) */
#define SYST_CSR REG32(0xE000E010u)
#define SYST_RVR REG32(0xE000E014u)
#define SYST_CVR REG32(0xE000E018u)
#define SYST_CSR_ENABLE (1u << 0)
#define SYST_CSR_TICKINT (1u << 1)
#define SYST_CSR_CLKSOURCE_CPU (1u << 2)

/* NVIC (ARMv7-M B3.4): USART1 is IRQ 37, bit 5 of the second enable register. */
#define NVIC_ISER1 REG32(0xE000E104u)
#define USART1_NVIC_BIT (1u << (37u - 32u))

#define RX_RING_SIZE 64u /* power of two */

static volatile uint32_t millis_since_boot;
static volatile uint8_t rx_ring[RX_RING_SIZE];
static volatile uint8_t rx_head; /* written by the interrupt only */
static volatile uint8_t rx_tail; /* written by the main loop only */

void SysTick_Handler(void)
{
    millis_since_boot++;
}

void USART1_IRQHandler(void)
{
    /* Reading SR then DR clears RXNE (and an overrun flag, if one was set). */
    while (USART1_SR & USART_SR_RXNE) {
        uint8_t byte = (uint8_t)USART1_DR;
        uint8_t next = (uint8_t)((rx_head + 1u) & (RX_RING_SIZE - 1u));

        if (next != rx_tail) { /* full: drop, the frame layer resynchronises */
            rx_ring[rx_head] = byte;
            rx_head = next;
        }
    }
}

void platform_uart_put(uint8_t byte)
{
    while (!(USART1_SR & USART_SR_TXE)) {
    }
    USART1_DR = byte;
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
    while (!(USART1_SR & USART_SR_TC)) {
    }
}

/*
 * Sleep until the next interrupt (a received byte or the 1 ms tick), unless a byte
 * is already waiting. Interrupts are masked around the check: WFI still wakes on a
 * pending interrupt with PRIMASK set, so a byte landing between the check and the
 * WFI cannot leave us asleep; the handler runs as soon as they are unmasked.
 */
static void sleep_until_event(void)
{
    __asm volatile("cpsid i" ::: "memory");
    if (rx_tail == rx_head) {
        __asm volatile("wfi" ::: "memory");
    }
    __asm volatile("cpsie i" ::: "memory");
}

uint32_t platform_millis(void)
{
    return millis_since_boot; /* one aligned 32-bit load: atomic on Cortex-M3 */
}

uint8_t platform_image_check(uint32_t length, uint32_t *crc)
{
    if (length == 0u || length > FLASH_SIZE_BYTES) {
        return 0;
    }
    *crc = image_crc32((const uint8_t *)FLASH_BASE_ADDRESS, length);
    return 1;
}

void platform_enter_bootloader(void)
{
    /*
     * On a real F103 this would set a flag in backup RAM and reset; early startup
     * would then load SP/PC from system memory (0x1FFFF000) to run ST's ROM
     * bootloader. QEMU has no system memory, so the bench stops the emulator when
     * it sees ENTER_BOOTLOADER_ACK and its bootloader model takes over. Until then
     * stay silent and asleep: no telemetry, no answers, no interrupts.
     */
    SYST_CSR = 0;
    USART1_CR1 &= ~USART_CR1_RXNEIE;
    __asm volatile("cpsid i" ::: "memory");
    for (;;) {
        __asm volatile("wfi");
    }
}

#if CORE_CLOCK_HZ == 72000000u
/*
 * Hardware builds only: 8 MHz HSE crystal x 9 = 72 MHz SYSCLK and APB2, APB1 / 2
 * (36 MHz max), two flash wait states above 48 MHz. Not used on the bench: QEMU
 * does not model the RCC, so HSERDY/PLLRDY would never rise.
 */
static void clock_init(void)
{
    FLASH_ACR = 0x12u;                       /* prefetch on, 2 wait states */
    RCC_CR |= 1u << 16;                      /* HSEON */
    while (!(RCC_CR & (1u << 17))) {         /* HSERDY */
    }
    RCC_CFGR = (7u << 18) | (1u << 16) | (4u << 8); /* PLLMUL x9, PLLSRC HSE, PPRE1 /2 */
    RCC_CR |= 1u << 24;                      /* PLLON */
    while (!(RCC_CR & (1u << 25))) {         /* PLLRDY */
    }
    RCC_CFGR |= 2u;                          /* SW = PLL */
    while ((RCC_CFGR & (3u << 2)) != (2u << 2)) {
    }
}
#else
static void clock_init(void)
{
    /* Emulator build: run from the reset clock, which is CORE_CLOCK_HZ. */
}
#endif

static void uart_init(void)
{
    RCC_APB2ENR |= RCC_APB2ENR_IOPAEN | RCC_APB2ENR_USART1EN;
    /* PA9: alternate push-pull 50 MHz (0xB); PA10: floating input (0x4). */
    GPIOA_CRH = (GPIOA_CRH & ~0x00000FF0u) | 0x000004B0u;
    /* USARTDIV = f_PCLK2 / baud with 4 fractional bits: BRR = f / baud, rounded. */
    USART1_BRR = (CORE_CLOCK_HZ + UART_BAUD / 2u) / UART_BAUD;
    /* 8N1 (M = 0, PCE = 0). QEMU drops received bytes until UE and RE are set. */
    USART1_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE;
    NVIC_ISER1 = USART1_NVIC_BIT;
}

static void systick_init(void)
{
    SYST_RVR = CORE_CLOCK_HZ / 1000u - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_CSR_CLKSOURCE_CPU | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}

int main(void)
{
    clock_init();
    uart_init();
    systick_init();
    node_init();
    for (;;) {
        node_poll();
        sleep_until_event();
    }
}
