import { RUN_START_SUFFIX } from '../../protocol/index.js';
import { RUNS_PER_OWNER, type StoredJobRun } from './job-records.js';

/**
 * How one arriving run record joins an owner's stored runs (pure): `undefined` when it adds nothing.
 * Start notices (`reason: running`) and end records are separate messages with separate ids (so each is
 * acknowledged on its own), but the hub keeps one record per attempt:
 * - a duplicate (same device and id) adds nothing;
 * - a start notice is stale when its attempt's end, a later attempt of the same completion, or the
 *   slot's not-run record (`interrupted`) is already stored: it would count as active for ever;
 * - an end record (or a later attempt's record) replaces the start notices it makes obsolete: a start
 *   whose end never came (the agent was killed; it numbers its attempts after the ones it started).
 */
export function mergeRun(list: readonly StoredJobRun[], run: StoredJobRun): StoredJobRun[] | undefined {
  const mine = (r: StoredJobRun): boolean => r.device === run.device;
  if (list.some((r) => mine(r) && r.id === run.id)) return undefined;
  const sameCompletion = (r: StoredJobRun): boolean =>
    r.jobUid === run.jobUid && r.scheduledAt === run.scheduledAt && r.completionIndex !== undefined && r.completionIndex === run.completionIndex;
  const slotEnded = (notRun: StoredJobRun, start: StoredJobRun): boolean => notRun.attempt === 0 && start.scheduledAt !== undefined && notRun.scheduledAt === start.scheduledAt;
  const earlierStart = (r: StoredJobRun): boolean => r.reason === 'running' && mine(r) && sameCompletion(r) && r.attempt < run.attempt;
  if (run.reason === 'running') {
    const endId = run.id.slice(0, -RUN_START_SUFFIX.length);
    const over = list.some((r) => mine(r) && (r.id === endId || (sameCompletion(r) && r.attempt > run.attempt) || slotEnded(r, run)));
    return over ? undefined : trim([...list.filter((r) => !earlierStart(r)), run]);
  }
  const obsolete = (r: StoredJobRun): boolean => earlierStart(r) || (r.reason === 'running' && mine(r) && (r.id === `${run.id}${RUN_START_SUFFIX}` || slotEnded(run, r)));
  return trim([...list.filter((r) => !obsolete(r)), run]);
}

function trim(list: StoredJobRun[]): StoredJobRun[] {
  return list.length > RUNS_PER_OWNER ? list.slice(list.length - RUNS_PER_OWNER) : list;
}
