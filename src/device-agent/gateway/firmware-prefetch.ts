// Firmware fetched ahead: while a device waits for its maintenance window, the hub lists the
// release's firmware images (by sha256) in its desired document, and the gateway downloads them
// into the same cache the flash handler reads, so the flash inside the window starts at once.
// Nothing is verified or flashed here: the flash handler verifies every image against this
// gateway's trust anchors when it flashes, as always.
import type { Logger } from '../../common/log.js';
import type { DeviceEvent } from '../../protocol/index.js';
import { downloadImage, fetchManifest, type FirmwareSource } from './firmware-fetch.js';
import { errorMessage } from '../../common/errors.js';

export interface FirmwarePrefetcher {
  /** Downloads the images not yet here (one at a time; a call while one runs is queued). */
  prefetch(sha256s: readonly string[]): Promise<void>;
}

/** A failed prefetch is not retried before this long (the window may be hours away). */
const RETRY_MS = 30_000;

export function firmwarePrefetcher(source: FirmwareSource | undefined, event: (e: Omit<DeviceEvent, 'time'>) => void, log: Logger, now: () => number = Date.now): FirmwarePrefetcher {
  const done = new Set<string>();
  const failedAt = new Map<string, number>();
  let queue: Promise<void> = Promise.resolve();
  const one = async (sha: string): Promise<void> => {
    if (source === undefined || done.has(sha)) return;
    const last = failedAt.get(sha);
    if (last !== undefined && now() - last < RETRY_MS) return;
    try {
      const envelope = await fetchManifest(source, sha);
      await downloadImage(source, sha, envelope.manifest.size);
      done.add(sha);
      failedAt.delete(sha);
      event({ type: 'Normal', reason: 'Downloaded', message: `firmware ${envelope.manifest.target} ${envelope.manifest.version} (${sha.slice(0, 12)}…) is here; flashing waits for the maintenance window` });
    } catch (err) {
      failedAt.set(sha, now());
      log.warn(`prefetching firmware ${sha.slice(0, 12)}: ${errorMessage(err)}`);
      event({ type: 'Warning', reason: 'DownloadFailed', message: `downloading firmware ${sha.slice(0, 12)}… ahead of the window failed: ${errorMessage(err)}` });
    }
  };
  return {
    prefetch(sha256s) {
      if (source === undefined && sha256s.length > 0) log.debug('firmware prefetch skipped: this agent does not know the hub URL');
      const run = queue.then(async () => {
        for (const sha of sha256s) await one(sha);
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
