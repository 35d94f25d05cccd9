import { processGroupMembers, readProcStat, isLiveState } from './proc.js';
import { errnoCode } from '../../../common/errors.js';

/**
 * Stopping a process instance. Each instance is a process group (spawned detached), so its
 * children get the signals too, as they would in a container.
 */

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (err) {
    if (errnoCode(err) !== 'ESRCH') throw err; // already gone
  }
}

/**
 * Whether the group `pid` leads is still ours to signal. The leader alive with the recorded
 * start time: yes. The leader alive with another start time: the pid was reused by a stranger,
 * never signal it. The leader gone but members left: those are our leftovers — the kernel does
 * not hand out a pid while a process group of that number still exists.
 */
export async function groupIsOurs(pid: number, startTime: string | null): Promise<boolean> {
  const leader = await readProcStat(pid);
  // No recorded start time means the process was already gone when it was spawned: nothing to verify against.
  if (leader !== undefined && isLiveState(leader)) return startTime !== null && leader.startTime === startTime;
  return (await processGroupMembers(pid)).length > 0;
}

async function waitGroupGone(pgid: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  // Monotonic: a wall clock stepped back mid-wait would stretch the grace period by the step.
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if ((await processGroupMembers(pgid)).length === 0) return true;
    if (performance.now() >= deadline || signal?.aborted === true) return false;
    await sleep(50);
  }
}

/**
 * SIGTERM to the whole group, up to `graceSeconds` for every member to exit, then SIGKILL to
 * whatever is left. An abort ends the wait early and kills at once: the caller is cancelling,
 * and a half-stopped instance is the worst state to leave behind.
 */
export async function stopProcessGroup(pid: number, startTime: string | null, graceSeconds: number, signal?: AbortSignal): Promise<'not-running' | 'terminated' | 'killed'> {
  if (!(await groupIsOurs(pid, startTime))) return 'not-running';
  signalGroup(pid, 'SIGTERM');
  if (graceSeconds > 0 && (await waitGroupGone(pid, graceSeconds * 1000, signal))) return 'terminated';
  signalGroup(pid, 'SIGKILL');
  if (!(await waitGroupGone(pid, 5_000))) throw new Error(`process group ${pid} survived SIGKILL (uninterruptible sleep?)`);
  return 'killed';
}

/**
 * Kills what is left of a group whose leader has exited — a backgrounded helper, a daemonized
 * child — so that "exited" means nothing of the instance runs, as when a container's init exits.
 * Returns how many processes were left.
 */
export async function killGroupRemnants(pid: number, startTime: string | null): Promise<number> {
  const remnants = (await processGroupMembers(pid)).filter((member) => member.pid !== pid);
  if (remnants.length === 0 || !(await groupIsOurs(pid, startTime))) return 0;
  signalGroup(pid, 'SIGKILL');
  return remnants.length;
}
