// What a bench is asked for (BenchOptions) and what it reports (BenchEvents).
import type { FaultEvent, FaultSpec } from './faults.js';
import type { McuModel } from './profile.js';
import type { SerialPatchResult } from './serial-patch.js';

export type BenchMode = 'app' | 'bootloader';

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
}

export interface BenchEvents {
  mode: [BenchMode];
  booted: [{ bootNumber: number; serialPatch: SerialPatchResult | 'not-requested' }];
  'boot-failed': [{ bootNumber: number }];
  'mcu-exit': [{ code: number | null; signal: NodeJS.Signals | null; output: string }];
  'bootloader-command': [number];
  'flash-changed': [];
  fault: [FaultEvent];
  garbage: [Uint8Array];
  unplugged: [];
  replugged: [];
  /** A background transition failed (e.g. the emulator would not start after Go). */
  failure: [Error];
}
