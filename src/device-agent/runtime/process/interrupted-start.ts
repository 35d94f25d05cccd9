import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../common/log.js';
import type { InstanceRecord } from './instance-record.js';
import { RELEASED_FILE } from './launch.js';
import { isSameLiveProcess } from './proc.js';

/**
 * Folders that a runtime of this agent process is starting or removing right now. Module-wide,
 * not per runtime: tests put several runtimes over one state folder, and none may clean up a
 * start or removal that another one has under way.
 */
export const foldersInFlux = new Set<string>();

/**
 * What to do with an instance folder found on disk that no runtime tracks (the caller checks foldersInFlux):
 * - `adopt`: a normal record (also every record older than the gate);
 * - `removed`: left by a start that an agent's death interrupted, and cleaned up now;
 * - `wait`: a gate from such a start is still alive; it exits by itself (see below), so the
 *   folder is looked at again on the next listing.
 *
 * An interrupted start leaves either no record (the agent died between mkdir and the record
 * write) or a gated record without the `released` marker (it died before releasing the gate).
 * Either way the program never ran: the gate waits for its go-ahead on a socket whose only writer
 * was the dead agent, so the kernel hands it end-of-file and it exits without exec. That is why
 * nothing is killed here: a gate that is still alive may be one second from that exit, or (when
 * the agent died right after releasing it) one instruction from creating the marker and running
 * the program it was told to run — killing it could not tell these apart, waiting can.
 */
export async function settleUntrackedFolder(folder: string, record: InstanceRecord | undefined, runtimeCreatedAtMs: number, log: Logger): Promise<'adopt' | 'removed' | 'wait'> {
  // Only a folder untouched since this runtime was created can be a dead agent's leftover. One
  // changed since is this agent's own: a removal under way (unlinking instance.json changes the
  // folder) or a start that began after this listing read the folder.
  const changedAtMs = await stat(folder).then(
    (info) => info.ctimeMs,
    () => undefined,
  );
  if (changedAtMs === undefined || changedAtMs >= runtimeCreatedAtMs) return record === undefined ? 'wait' : 'adopt';
  if (record !== undefined) {
    if (record.gated !== true) return 'adopt';
    const released = await stat(join(folder, RELEASED_FILE)).then(
      () => true,
      () => false,
    );
    if (released) return 'adopt';
    if (await isSameLiveProcess(record.pid, record.startTime)) return 'wait';
  }
  await rm(folder, { recursive: true, force: true });
  const why = record === undefined ? 'no instance.json: a start or removal was interrupted' : `a start was interrupted: its gate (pid ${record.pid}) was never released, so its program never ran`;
  log.warn(`removed ${folder} (${why})`);
  return 'removed';
}
