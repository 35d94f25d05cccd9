/**
 * The STM32 system bootloader (ST AN3155) behind the Flasher interface: entered through the
 * application's ENTER_BOOTLOADER and the 0x7F sync (bootloader-access.ts), chip and readout
 * protection from Get ID and a probe read (chip-check.ts), erase/write/verify/Go by flash.ts.
 */
import type { An3155Client } from '../an3155/an3155-client.js';
import { flashImage } from '../an3155/flash.js';
import type { FirmwareImage } from '../image/image.js';
import { imageSpan } from '../image/segments.js';
import { reachBootloader, readFlash, type LinkAccess } from './bootloader-access.js';
import { checkChip, unprotect } from './chip-check.js';
import { verifyByReadBack } from './read-back-verify.js';
import type { FlashGeometry } from './flash-targets.js';
import type { Flasher, FlasherSession } from './flasher.js';
import { eraseModeFor } from './update-policy.js';

export function an3155Flasher(access: LinkAccess & { readonly geometry: FlashGeometry }): Flasher {
  return {
    kind: 'an3155',
    stuckHint: 'the MCU waits in its bootloader',
    verifyByReadBack: (flat, bootTimeoutMs, onProgress) => verifyByReadBack(access, flat, bootTimeoutMs, onProgress),
    async enter() {
      const { client } = await reachBootloader(access);
      try {
        const chip = await checkChip(client, access);
        return session(access, client, chip.geometry, chip.protected);
      } catch (err) {
        client.dispose();
        throw err;
      }
    },
  };
}

function session(access: LinkAccess & { readonly geometry: FlashGeometry }, client: An3155Client, geometry: FlashGeometry, readProtected: boolean): FlasherSession {
  return {
    kind: 'an3155',
    geometry,
    chip: geometry.model,
    readProtected,
    pageErase: true,
    verifiesWhileWriting: false,
    async unprotect() {
      return session(access, await unprotect(client, access), geometry, false);
    },
    readFlash: (options) => readFlash(client, geometry, options),
    async write(image, options) {
      const result = await flashImage(client, image, {
        erase: options.pages ? 'pages' : eraseFor(image, geometry),
        ...(options.pages ? { pages: options.pages } : {}),
        pageSize: geometry.pageSize,
        flashBase: geometry.flashBase,
        verify: options.readBack,
        go: options.go,
        sync: false,
        retries: 3,
        onProgress: (p) => {
          // Go is one command; the updater reports the boot step while it waits for the image.
          if (p.phase !== 'go') options.onProgress?.({ phase: p.phase, done: p.done, total: p.total });
        },
        ...(options.signal ? { signal: options.signal } : {}),
      });
      return { bytesWritten: result.bytesWritten, retries: result.retries };
    },
    /** Nothing was written: start the application again (AN3155 Go to the vector table). */
    async leave() {
      try {
        await client.go(geometry.flashBase);
        return '';
      } catch {
        return '; the MCU still waits in its bootloader (power-cycle it)';
      } finally {
        client.dispose();
      }
    },
    dispose: () => client.dispose(),
  };
}

function eraseFor(image: FirmwareImage, geometry: FlashGeometry): 'mass' | 'pages' {
  const span = imageSpan(image);
  return span === undefined ? 'pages' : eraseModeFor(span, geometry);
}
