/**
 * What the product ID from Get ID (AN3155 §3.3) says about an STM32's flash, for the
 * parts whose bootloader speaks AN3155. Page size is fixed per family (RM0008 §3.3.3:
 * 1 KB pages on low- and medium-density F10x, 2 KB on high-density); the flash size is not (a medium-density F103 has 64 or 128 KB),
 * so that comes from the board profile. Bootloader versions are those AN2606 lists for
 * the family ("Bootloader device-dependent parameters"); the flasher never relies on
 * them, it reads the command set from Get.
 */

export interface Stm32Chip {
  readonly productId: number;
  readonly family: string;
  /** Erase granularity, bytes. */
  readonly pageSize: number;
  /** Option bytes (AN2606/RM0008: 16 bytes, each with its complement). */
  readonly optionBytes: number;
  /** System memory (the ROM bootloader) start. */
  readonly systemMemory: number;
  /** The ROM bootloader version AN2606 gives for the family. */
  readonly bootloaderVersion: number;
}

const F1_OPTION_BYTES = 0x1fff_f800;

const CHIPS: readonly Stm32Chip[] = [
  { productId: 0x412, family: 'STM32F10x low density', pageSize: 1024, optionBytes: F1_OPTION_BYTES, systemMemory: 0x1fff_f000, bootloaderVersion: 0x22 },
  { productId: 0x410, family: 'STM32F10x medium density', pageSize: 1024, optionBytes: F1_OPTION_BYTES, systemMemory: 0x1fff_f000, bootloaderVersion: 0x22 },
  { productId: 0x414, family: 'STM32F10x high density', pageSize: 2048, optionBytes: F1_OPTION_BYTES, systemMemory: 0x1fff_f000, bootloaderVersion: 0x22 },
];

export function stm32ChipFor(productId: number): Stm32Chip | undefined {
  return CHIPS.find((c) => c.productId === productId);
}

export function hexId(productId: number): string {
  return `0x${productId.toString(16).toUpperCase().padStart(3, '0')}`;
}
