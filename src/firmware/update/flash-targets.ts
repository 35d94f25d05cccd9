/**
 * Flash geometry of the MCU models a gateway can update, keyed by the model string the
 * MCU reports in IDENTITY (hardware/PROTOCOL.md). The numbers are those of the board
 * profiles (hardware/profiles/*.json, memory.flash); this module cannot read that folder
 * on a gateway, so they are restated here and checked against the profiles by a unit test.
 */

export interface FlashGeometry {
  readonly model: string;
  /** Address of page 0 and of the application's vector table (AN3155 Go target). */
  readonly flashBase: number;
  readonly flashSize: number;
  /** Erase granularity (AN3155 Extended Erase works on page numbers). */
  readonly pageSize: number;
  /** The loader's chip ids that belong to this model (AN3155 Get ID, STC89 status "magic"); undefined: not checked. */
  readonly productIds?: readonly number[];
  /** Which loader the chip has: the STM32 system bootloader (AN3155) or STC's ISP loader. */
  readonly loader: 'an3155' | 'stc89-isp';
}

const TARGETS: readonly FlashGeometry[] = [
  // STM32F103C8: 64 KB main flash at 0x08000000 in 1 KB pages (RM0008 §3.3.3).
  // Get ID: 0x412 low, 0x410 medium (the C8), 0x414 high density (AN2606).
  { model: 'stm32f103', flashBase: 0x0800_0000, flashSize: 64 * 1024, pageSize: 1024, productIds: [0x412, 0x410, 0x414], loader: 'an3155' },
  // STC89C52RC: 8 KB of code flash at 0, 512-byte sectors; its ISP loader reports model 0xF002.
  { model: 'stc89c52', flashBase: 0x0000_0000, flashSize: 8 * 1024, pageSize: 512, productIds: [0xf002], loader: 'stc89-isp' },
];

export function flashGeometryFor(model: string): FlashGeometry | undefined {
  const wanted = model.trim().toLowerCase();
  return TARGETS.find((t) => t.model === wanted);
}

export function knownFlashTargets(): readonly FlashGeometry[] {
  return TARGETS;
}
