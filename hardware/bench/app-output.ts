// Watches what the MCU application sends towards the host, frame by frame:
//  - ENTER_BOOTLOADER_ACK (0x84) ends the application's turn on the UART: the bytes up
//    to and including it are forwarded, the rest is dropped (the ROM bootloader owns
//    the UART from then on);
//  - garbage (--garbage-every) is slipped in only between frames, so it tests the
//    host's resynchronisation without cutting a frame in two.
import { GarbageSource } from './faults.js';
import { FrameScanner, MESSAGE } from './frame-scanner.js';

export interface WatchedOutput {
  readonly forward: Uint8Array;
  readonly bootloaderAck: boolean;
}

export class AppOutputWatcher {
  private readonly frames = new FrameScanner();
  private readonly garbage: GarbageSource;
  private readonly onGarbage: (bytes: Uint8Array) => void;
  private garbagePending = false;

  /** `jumpsToBootloader` false: the chip's ACK does not end its turn (an STC89 keeps running). */
  constructor(garbageSeed: number | undefined, onGarbage: (bytes: Uint8Array) => void, private readonly jumpsToBootloader = true) {
    this.garbage = new GarbageSource(garbageSeed);
    this.onGarbage = onGarbage;
  }

  /** A new boot: no partial frame, no garbage owed. */
  reset(): void {
    this.frames.reset();
    this.garbagePending = false;
  }

  process(bytes: Uint8Array): WatchedOutput {
    const forward: number[] = [];
    for (const byte of bytes) {
      forward.push(byte);
      for (const frame of this.frames.push(byte)) {
        if (frame.type === MESSAGE.enterBootloaderAck && this.jumpsToBootloader) {
          return { forward: Uint8Array.from(forward), bootloaderAck: true };
        }
        if (this.garbagePending) {
          this.garbagePending = false;
          forward.push(...this.burst());
        }
      }
    }
    return { forward: Uint8Array.from(forward), bootloaderAck: false };
  }

  /** Garbage is due: returns it now if the line is between frames, else owes it. */
  garbageDue(): Uint8Array | undefined {
    if (this.frames.betweenFrames) return this.burst();
    this.garbagePending = true;
    return undefined;
  }

  private burst(): Uint8Array {
    const bytes = this.garbage.burst();
    this.onGarbage(bytes);
    return bytes;
  }
}
