/*
 * Cortex-M3 vector table and reset handler, no CMSIS and no libc.
 *
 * The table runs up to USART1 (IRQ 37, RM0008 table 63), the only peripheral
 * interrupt the firmware enables; every other entry goes to Default_Handler.
 */
#include <stdint.h>

extern uint32_t _estack;
extern uint32_t _sidata;
extern uint32_t _sdata;
extern uint32_t _edata;
extern uint32_t _sbss;
extern uint32_t _ebss;

int main(void);
void Reset_Handler(void);
void SysTick_Handler(void);
void USART1_IRQHandler(void);
void Default_Handler(void);

typedef void (*vector_entry)(void);

#define USART1_IRQ 37
#define D Default_Handler

__attribute__((section(".isr_vector"), used))
static const vector_entry vector_table[16 + USART1_IRQ + 1] = {
    (vector_entry)(uintptr_t)&_estack, /* initial main stack pointer */
    Reset_Handler,
    Default_Handler,  /* NMI */
    Default_Handler,  /* HardFault */
    Default_Handler,  /* MemManage */
    Default_Handler,  /* BusFault */
    Default_Handler,  /* UsageFault */
    0, 0, 0, 0,       /* reserved */
    Default_Handler,  /* SVCall */
    Default_Handler,  /* DebugMonitor */
    0,                /* reserved */
    Default_Handler,  /* PendSV */
    SysTick_Handler,
    /* IRQ 0..36: WWDG .. I2C2_ER, not enabled */
    D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D,
    D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D, D,
    USART1_IRQHandler, /* IRQ 37 */
};

#undef D

void Reset_Handler(void)
{
    uint32_t *src = &_sidata;
    uint32_t *dst;

    for (dst = &_sdata; dst < &_edata; dst++) {
        *dst = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; dst++) {
        *dst = 0;
    }
    (void)main();
    for (;;) {
    }
}

/* A fault stops here; a debugger shows where. The bench sees the MCU go silent. */
void Default_Handler(void)
{
    for (;;) {
    }
}
