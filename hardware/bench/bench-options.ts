// What a bench is asked for (BenchOptions) and what it reports (BenchEvents).
import type { BootloaderVariantName } from './bootloader-variant.js';
import type { FaultEvent, FaultSpec } from './faults.js';
import type { McuModel } from './profile.js';
import type { SerialPatchResult } from './serial-patch.js';

/** 'off': the power switch is open; 'power-on': the STC89 loader's listen window after power-on. */
export type BenchMode = 'app' | 'bootloader' | 'off' | 'power-on';

/**
 * Which modem control line of the gateway's port switches the MCU's supply: asserted = power
 * off (a transistor driven by the adapter's pin, as stcgal's -a expects), `-inverted` the other way.
 */
export type PowerLine = 'dtr' | 'rts' | 'dtr-inverted' | 'rts-inverted';

export interface BenchOptions {
  readonly mcu: McuModel;
  /** Programmed into flash when the flash file does not exist yet (or none is given). */
  readonly image?: string;
  /** The pty path the gateway opens; default <workDirectory>/tty-host. */
  readonly hostPath?: string;
  /** Raw flash contents, kept across bench restarts; default <workDirectory>/flash.bin. */
  readonly flashFile?: string;
  /** The chip's serial (16 hex digits); default: whatever the image carries. */
  readonly serial?: string;
  /** Throttle to a real line rate (and take real erase/program times) when set. */
  readonly baud?: number;
  /** Bits per byte on the wire: 10 for 8N1 (default), 11 for 8E1. */
  readonly bitsPerByte?: number;
  readonly fault?: string | FaultSpec;
  readonly garbageEveryMs?: number;
  readonly garbageSeed?: number;
  /** Scratch directory for ptys and boot images; default a fresh one under os.tmpdir(). */
  readonly workDirectory?: string;
  readonly bootTimeoutMs?: number;
  /**
   * Which AN3155 bootloader answers: 'f103' (the STM32F10x ROM, v2.2, Erase 0x43, option
   * bytes and protection) or 'ext-erase' (v3.1, Extended Erase 0x44, flash only). Default:
   * what the profile's chip has (f103 for the stm32f103, ext-erase for the stc89c52).
   */
  readonly bootloader?: BootloaderVariantName;
  /** Start with readout protection active (option byte RDP != 0xA5); 'f103' only. */
  readonly readProtected?: boolean;
  /**
   * Level of BOOT0 at a reset the bootloader itself causes (after option bytes change):
   * 'low' (default, the usual wiring) starts the application from flash, 'high' starts
   * the bootloader again, as when the gateway or a technician holds BOOT0 high.
   */
  readonly boot0?: 'low' | 'high';
  /**
   * The gateway switches the MCU's power through this line of its port (stc89c52): the bench
   * listens for the line state on <modemLinesDirectory>/pts-N (hardware/bench/modem-lines).
   */
  readonly powerLine?: PowerLine;
  /** Where the modem-line socket goes; default the work directory. Keep it short (Unix socket paths ≤ 107 bytes). */
  readonly modemLinesDirectory?: string;
  /** How long the STC89 loader listens for 0x7F after power-on; default the profile's. */
  readonly powerOnWindowMs?: number;
}

export interface BenchEvents {
  mode: [BenchMode];
  booted: [{ bootNumber: number; serialPatch: SerialPatchResult | 'not-requested' }];
  'boot-failed': [{ bootNumber: number }];
  'mcu-exit': [{ code: number | null; signal: NodeJS.Signals | null; output: string }];
  'bootloader-command': [number];
  'flash-changed': [];
  /** The bootloader reset the chip after changing option bytes. */
  'system-reset': [];
  fault: [FaultEvent];
  garbage: [Uint8Array];
  unplugged: [];
  replugged: [];
  /** The MCU's supply was switched (power cycle, or the gateway's control line). */
  power: ['off' | 'on'];
  /** The STC89 loader saw a sync pulse in its power-on window and sent its status frame. */
  'isp-sync': [];
  /** A background transition failed (e.g. the emulator would not start after Go). */
  failure: [Error];
}
