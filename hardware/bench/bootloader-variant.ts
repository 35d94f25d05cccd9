// The two AN3155 bootloaders the bench models, and the memory map each one serves.
//
//  - 'f103': the ROM bootloader of an STM32F10x medium-density part as AN2606 and AN3155
//    describe it: version 2.2 (0x22), Get lists 00 01 02 11 21 31 43 63 73 82 92 (the
//    original Erase 0x43, no Extended Erase), Read Memory serves flash, SRAM, system
//    memory (0x1FFFF000-0x1FFFF7FF) and the option bytes (0x1FFFF800-0x1FFFF80F), and the
//    protection commands change the option bytes and then reset the chip.
//  - 'ext-erase': a later bootloader (version 3.1) with Extended Erase 0x44 instead of
//    0x43, serving the flash only, as the bench offered before the F103 profile; it stands
//    for newer parts and for the STC89C52, whose profile pretends to speak AN3155.
//
// The ROM's own code is ST's and is not reproduced: system memory reads return a fixed
// filler, except the device electronic signature the ROM area ends with (RM0008 §30:
// flash size in KB at 0x1FFFF7E0, the 96-bit unique ID at 0x1FFFF7E8).
import type { FlashMemory } from './flash-memory.js';

export type BootloaderVariantName = 'f103' | 'ext-erase';
export const BOOTLOADER_VARIANTS: readonly BootloaderVariantName[] = ['f103', 'ext-erase'];

export function isBootloaderVariant(value: string): value is BootloaderVariantName {
  return (BOOTLOADER_VARIANTS as readonly string[]).includes(value);
}

export interface BootloaderVariant {
  readonly name: BootloaderVariantName;
  readonly version: number;
  /** Get's command list, in the order the ROM sends it (AN3155 §3.1). */
  readonly commands: readonly number[];
  readonly erase: 0x43 | 0x44;
  /** Read protection, write protection and SRAM/system-memory/option-byte access. */
  readonly fullMemoryMap: boolean;
}

/** Version of the newer, Extended Erase bootloader the 'ext-erase' variant stands for. */
const EXT_ERASE_VERSION = 0x31;

export function bootloaderVariant(name: BootloaderVariantName, profileVersion: number): BootloaderVariant {
  if (name === 'f103') {
    return {
      name,
      version: profileVersion,
      commands: [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x43, 0x63, 0x73, 0x82, 0x92],
      erase: 0x43,
      fullMemoryMap: true,
    };
  }
  return { name, version: EXT_ERASE_VERSION, commands: [0x00, 0x01, 0x02, 0x11, 0x21, 0x31, 0x44], erase: 0x44, fullMemoryMap: false };
}

// STM32F10x medium density (AN2606, RM0008 §3.3 and §4.7).
export const SYSTEM_MEMORY = { start: 0x1fff_f000, size: 0x800 } as const;
export const OPTION_BYTES = { start: 0x1fff_f800, size: 16 } as const;
export const SRAM = { start: 0x2000_0000, size: 20 * 1024 } as const;
/** The bootloader keeps its own variables in the first 512 bytes of SRAM (AN2606). */
const SRAM_FOR_HOST = 0x2000_0200;
const FLASH_SIZE_REGISTER = 0x1fff_f7e0;
const UNIQUE_ID = 0x1fff_f7e8;
/** RDP byte value that means "not protected" (RM0008 §4.7, option byte RDP). */
export const RDP_UNPROTECTED = 0xa5;
/** Pages per write-protection bit on medium density (RM0008 §4.7: WRPx, 4 KB each). */
const PAGES_PER_WRP_BIT = 4;

export type WriteResult = 'ok' | 'not-erased' | 'refused' | 'option-bytes-written';

/**
 * What Read Memory and Write Memory reach, and the option bytes: RDP/nRDP, USER/nUSER,
 * Data0/1 and WRP0..3, each followed by its complement (RM0008 §4.7). The factory
 * state is RDP 0xA5 (unprotected), every other byte 0xFF, complements to match.
 */
export class BootloaderMemory {
  private readonly options = new Uint8Array(OPTION_BYTES.size);
  private readonly sram = new Uint8Array(SRAM.size);
  private readonly system = new Uint8Array(SYSTEM_MEMORY.size);

  constructor(
    readonly variant: BootloaderVariant,
    readonly flash: FlashMemory,
    settings: { readProtected?: boolean; uniqueId?: Uint8Array } = {},
  ) {
    this.writeOptionBytes(Uint8Array.of(settings.readProtected === true ? 0x00 : RDP_UNPROTECTED, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0xff, 0));
    const kb = flash.geometry.size / 1024;
    this.system.set([kb & 0xff, kb >> 8], FLASH_SIZE_REGISTER - SYSTEM_MEMORY.start);
    if (settings.uniqueId) this.system.set(settings.uniqueId.subarray(0, 12), UNIQUE_ID - SYSTEM_MEMORY.start);
  }

  get readProtected(): boolean {
    return this.variant.fullMemoryMap && this.options[0] !== RDP_UNPROTECTED;
  }

  optionBytes(): Uint8Array {
    return this.options.slice();
  }

  /** undefined: the address range is not readable through the bootloader (NACK). */
  read(address: number, length: number): Uint8Array | undefined {
    if (this.flash.contains(address, length)) return this.flash.read(address, length);
    if (!this.variant.fullMemoryMap) return undefined;
    for (const [region, bytes] of this.regions()) {
      if (address >= region.start && address + length <= region.start + region.size) {
        return bytes.slice(address - region.start, address - region.start + length);
      }
    }
    return undefined;
  }

  /** Is `address` where Write Memory may start (flash, SRAM above the ROM's, option bytes)? */
  writable(address: number): boolean {
    if (this.flash.contains(address, 1)) return true;
    if (!this.variant.fullMemoryMap) return false;
    return (address >= SRAM_FOR_HOST && address < SRAM.start + SRAM.size) || address === OPTION_BYTES.start;
  }

  write(address: number, data: Uint8Array): WriteResult {
    if (this.flash.contains(address, data.length)) {
      if (this.pagesOf(address, data.length).some((page) => this.pageWriteProtected(page))) return 'refused';
      return this.flash.program(address, data);
    }
    if (!this.variant.fullMemoryMap) return 'refused';
    if (address >= SRAM_FOR_HOST && address + data.length <= SRAM.start + SRAM.size) {
      this.sram.set(data, address - SRAM.start);
      return 'ok';
    }
    if (address === OPTION_BYTES.start && data.length <= OPTION_BYTES.size) {
      // AN3155 §3.6: writing at the option-byte base erases them, writes, and resets.
      const next = new Uint8Array(OPTION_BYTES.size).fill(0xff);
      next.set(data);
      this.writeOptionBytes(next);
      return 'option-bytes-written';
    }
    return 'refused';
  }

  pageWriteProtected(page: number): boolean {
    if (!this.variant.fullMemoryMap) return false;
    const bit = Math.min(Math.floor(page / PAGES_PER_WRP_BIT), 31);
    const wrp = this.options[8 + 2 * Math.floor(bit / 8)] ?? 0xff;
    return (wrp & (1 << (bit % 8))) === 0;
  }

  /** Readout Protect (AN3155 §3.11): RDP set to any value but 0xA5. */
  protectReadout(): void {
    this.setOption(0, 0x00);
  }

  /** Readout Unprotect (AN3155 §3.12): the whole flash is erased first, then RDP = 0xA5. */
  unprotectReadout(): void {
    this.flash.eraseAll();
    this.setOption(0, RDP_UNPROTECTED);
  }

  /** Write Protect (AN3155 §3.9): each sector code clears its WRP bit. */
  protectSectors(sectors: readonly number[]): void {
    for (const sector of sectors) {
      const index = Math.min(sector, 31);
      const byte = 8 + 2 * Math.floor(index / 8);
      this.setOption(byte, (this.options[byte] ?? 0xff) & ~(1 << (index % 8)));
    }
  }

  /** Write Unprotect (AN3155 §3.10): every WRP bit set again. */
  unprotectSectors(): void {
    for (let byte = 8; byte < 16; byte += 2) this.setOption(byte, 0xff);
  }

  get sectorCount(): number {
    return Math.ceil(this.flash.pageCount / PAGES_PER_WRP_BIT);
  }

  private pagesOf(address: number, length: number): number[] {
    const { base, pageSize } = this.flash.geometry;
    const first = Math.floor((address - base) / pageSize);
    const last = Math.floor((address + length - 1 - base) / pageSize);
    return Array.from({ length: last - first + 1 }, (_, index) => first + index);
  }

  private setOption(index: number, value: number): void {
    this.options[index] = value & 0xff;
    this.options[index + 1] = ~value & 0xff;
  }

  private writeOptionBytes(bytes: Uint8Array): void {
    // Only the even bytes are stored; the hardware writes each complement itself.
    for (let index = 0; index < OPTION_BYTES.size; index += 2) this.setOption(index, bytes[index] ?? 0xff);
  }

  private regions(): [{ start: number; size: number }, Uint8Array][] {
    return [[SRAM, this.sram], [SYSTEM_MEMORY, this.system], [OPTION_BYTES, this.options]];
  }
}
