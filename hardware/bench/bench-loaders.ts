// What the bench's MCU holds besides its application, built from its profile: the flash (loaded
// from its file, or from the image on first use), and the loader that answers instead of the
// application: the AN3155 ROM bootloader over the variant's memory map (STM32), or the STC89's
// ISP loader where the profile has one. bench.ts decides when each of them has the line.
import { existsSync } from 'node:fs';
import { An3155Bootloader } from './an3155.js';
import { BootloaderMemory, bootloaderVariant, type BootloaderVariantName } from './bootloader-variant.js';
import type { BenchOptions } from './bench-options.js';
import { FlashMemory } from './flash-memory.js';
import type { McuProfile } from './profile.js';
import { Stc89IspLoader } from './stc89-isp.js';

/** The flash kept in `flashFile`: loaded if it exists, else made from the image and saved there. */
export function openFlash(profile: McuProfile, flashFile: string, image: string | undefined): FlashMemory {
  const geometry = { base: profile.flashBase, size: profile.flashSize, pageSize: profile.pageSize };
  if (existsSync(flashFile)) return FlashMemory.loadFrom(flashFile, geometry);
  if (image === undefined) throw new Error('an image is needed when the flash file does not exist yet');
  const flash = new FlashMemory(geometry);
  flash.loadImageFile(image);
  flash.saveTo(flashFile);
  return flash;
}

/** What the loaders ask of the bench. */
export interface LoaderHooks {
  /** Bytes from the loader toward the host (through the serial line's rate and faults). */
  send(bytes: Uint8Array): void;
  /** The flash was written: persist it, tell listeners. */
  flashChanged(): void;
  /** The application starts from flash (AN3155 Go, the STC89 loader's reset). */
  bootFromFlash(): void;
  /** The AN3155 ROM reset the chip after changing option bytes. */
  systemReset(): void;
  commandReceived(code: number): void;
}

export interface BenchLoaders {
  /** Flash plus what the bootloader variant reaches besides it (option bytes, SRAM, ROM). */
  memory: BootloaderMemory;
  bootloader: An3155Bootloader;
  /** Only for stc89-isp profiles: used instead of the AN3155 model. */
  isp: Stc89IspLoader | undefined;
}

export function buildLoaders(profile: McuProfile, options: BenchOptions, flash: FlashMemory, serial: Uint8Array | undefined, hooks: LoaderHooks): BenchLoaders {
  const variantName: BootloaderVariantName = options.bootloader ?? (profile.bootloaderErase === 0x43 ? 'f103' : 'ext-erase');
  const variant = bootloaderVariant(variantName, profile.bootloaderVersion);
  if (options.readProtected === true && !variant.fullMemoryMap) {
    throw new Error(`readout protection needs the f103 bootloader, not ${variantName}`);
  }
  const memory = new BootloaderMemory(variant, flash, {
    readProtected: options.readProtected === true,
    ...(serial === undefined ? {} : { uniqueId: Uint8Array.of(...serial, 0, 0, 0, 0) }),
  });
  const bootloader = new An3155Bootloader({
    memory,
    productId: profile.productId,
    timing: options.baud === undefined ? undefined : profile,
    send: (bytes) => hooks.send(bytes),
    flashChanged: () => hooks.flashChanged(),
    // From the Go ACK on, the host talks to the application again.
    go: () => hooks.bootFromFlash(),
    systemReset: () => hooks.systemReset(),
    commandReceived: (code) => hooks.commandReceived(code),
  });
  const isp = profile.isp;
  return {
    memory,
    bootloader,
    isp: isp === undefined ? undefined : new Stc89IspLoader({
      flash,
      identity: { ...isp, clockHz: profile.coreClockHz },
      send: (bytes) => hooks.send(bytes),
      flashChanged: () => hooks.flashChanged(),
      reset: () => hooks.bootFromFlash(),
      commandReceived: (code) => hooks.commandReceived(code),
    }),
  };
}
