// Keeps a hub's copies of firmware images and trusted keys up to date with the store several
// hubs share (issue 15): pushed or trusted at one hub, served and flashed at every hub within
// FIRMWARE_SYNC_MS (plus the time to fetch a new image).
import { errorMessage } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';

/** Every hub reads the shared images' list and keys this often. */
export const FIRMWARE_SYNC_MS = 1000;

export function startFirmwareSync(parts: readonly { sync(): Promise<void> }[], log: Logger): { stop(): void } {
  let failing: string | undefined;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    void (async () => {
      try {
        for (const part of parts) await part.sync();
        if (failing !== undefined) log.info('firmware: copies up to date with the shared store again');
        failing = undefined;
      } catch (err) {
        // Said once per outage; the copies are used as they are meanwhile.
        if (failing === undefined) log.warn(`firmware: images and keys not brought up to date from the shared store (${errorMessage(err)}); retried every ${FIRMWARE_SYNC_MS} ms`);
        failing = errorMessage(err);
      } finally {
        running = false;
      }
    })();
  }, FIRMWARE_SYNC_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
