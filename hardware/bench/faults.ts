// Fault injection on the line, to check that the flasher and the framing recover.
//
// Faults count the bytes the host sends while the MCU is in its bootloader, from 1, over
// the whole life of the bench, and each fault fires once:
//   cut@N[:ms]   byte N still arrives; then every byte in both directions is lost for
//                ms milliseconds (default 3000). The MCU stays in its bootloader, in
//                whatever state the lost bytes left it (AN3155 has no timeouts).
//   drop@N       byte N is lost.
//   corrupt@N    byte N arrives XORed with 0x55.
// Garbage (--garbage-every ms) is separate: random bytes slipped between the frames the
// MCU application sends, to exercise the host's resynchronisation.

export type FaultSpec =
  | { readonly kind: 'cut'; readonly atByte: number; readonly durationMs: number }
  | { readonly kind: 'drop'; readonly atByte: number }
  | { readonly kind: 'corrupt'; readonly atByte: number };

export const DEFAULT_CUT_MS = 3000;
const CORRUPTION_MASK = 0x55;

export function parseFault(text: string): FaultSpec {
  const match = /^(cut|drop|corrupt)@(\d+)(?::(\d+))?$/.exec(text);
  const kind = match?.[1];
  const atByte = Number(match?.[2]);
  if (!match || kind === undefined || !Number.isSafeInteger(atByte) || atByte < 1) {
    throw new Error(`fault must be cut@N[:ms], drop@N or corrupt@N with N >= 1, got "${text}"`);
  }
  if (match[3] !== undefined && kind !== 'cut') throw new Error(`only cut takes a duration: "${text}"`);
  if (kind === 'cut') return { kind, atByte, durationMs: match[3] === undefined ? DEFAULT_CUT_MS : Number(match[3]) };
  if (kind === 'drop') return { kind, atByte };
  return { kind: 'corrupt', atByte };
}

export interface FaultEvent {
  readonly kind: FaultSpec['kind'];
  readonly atByte: number;
}

export class FaultInjector {
  private readonly spec: FaultSpec | undefined;
  private readonly onFault: (event: FaultEvent) => void;
  private bootloaderBytesSeen = 0;
  private lineDeadUntil = 0;

  constructor(spec: FaultSpec | undefined, onFault: (event: FaultEvent) => void) {
    this.spec = spec;
    this.onFault = onFault;
  }

  private lineIsCut(): boolean {
    return performance.now() < this.lineDeadUntil;
  }

  /** Host -> MCU bytes; only bytes sent to the bootloader are counted and faulted. */
  hostToDevice(bytes: Uint8Array, inBootloader: boolean): Uint8Array {
    if (!inBootloader || this.spec === undefined) {
      return this.lineIsCut() ? new Uint8Array(0) : bytes;
    }
    const passed: number[] = [];
    for (const byte of bytes) {
      this.bootloaderBytesSeen++;
      if (this.lineIsCut()) continue;
      const spec = this.spec;
      if (this.bootloaderBytesSeen !== spec.atByte) {
        passed.push(byte);
        continue;
      }
      this.onFault({ kind: spec.kind, atByte: spec.atByte });
      if (spec.kind === 'corrupt') passed.push(byte ^ CORRUPTION_MASK);
      if (spec.kind === 'cut') {
        passed.push(byte);
        this.lineDeadUntil = performance.now() + spec.durationMs;
      }
      // drop: nothing passes
    }
    return Uint8Array.from(passed);
  }

  /** MCU -> host bytes: lost while the line is cut. */
  deviceToHost(bytes: Uint8Array): Uint8Array {
    return this.lineIsCut() ? new Uint8Array(0) : bytes;
  }
}

/** Small deterministic PRNG (xorshift32), so a garbage run can be repeated. */
export class GarbageSource {
  private state: number;

  constructor(seed = 0x2545f491) {
    this.state = seed >>> 0 || 1;
  }

  private next(): number {
    let x = this.state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state;
  }

  /** 1 to 8 random bytes. */
  burst(): Uint8Array {
    const length = 1 + (this.next() % 8);
    return Uint8Array.from({ length }, () => this.next() & 0xff);
  }
}
