import type Dockerode from 'dockerode';
import type { ObservedInstance } from '../runtime.js';
import { LABEL_INSTANCE, LABEL_REVISION, LABEL_WORKLOAD } from './naming.js';

/**
 * Docker reports "never" as `0001-01-01T00:00:00Z` (Go's zero time): a container that was
 * created but not started has it as StartedAt, a running one as FinishedAt. Those must not
 * leak into reports as year 1.
 */
export function parseDockerTime(value: string | undefined): Date | undefined {
  if (value === undefined || value === '' || value.startsWith('0001-01-01')) return undefined;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) || time.getUTCFullYear() < 1971 ? undefined : time;
}

/** Docker's states folded into the three the reconciler plans with. */
export function observedState(status: string): ObservedInstance['state'] {
  switch (status) {
    case 'created':
      return 'created';
    // Paused and restarting containers still hold their process; the agent never pauses and
    // sets no restart policy, so these only appear when someone intervened by hand.
    case 'running':
    case 'paused':
    case 'restarting':
      return 'running';
    default: // exited, dead, removing
      return 'exited';
  }
}

/** Maps `docker inspect` to what the reconciler sees; undefined when the labels are not ours. */
export function observedFromInspect(info: Dockerode.ContainerInspectInfo): ObservedInstance | undefined {
  const labels: Record<string, string | undefined> = info.Config.Labels ?? {};
  const id = labels[LABEL_INSTANCE];
  const workload = labels[LABEL_WORKLOAD];
  const revision = labels[LABEL_REVISION];
  if (id === undefined || workload === undefined || revision === undefined) return undefined;
  const state = observedState(info.State.Status);
  const startedAt = parseDockerTime(info.State.StartedAt);
  const finishedAt = state === 'exited' ? parseDockerTime(info.State.FinishedAt) : undefined;
  return {
    id,
    workload,
    revision,
    runtime: 'container',
    state,
    containerId: info.Id,
    ...(state === 'running' && info.State.Pid > 0 ? { pid: info.State.Pid } : {}),
    ...(state === 'exited' ? { exitCode: info.State.ExitCode, oomKilled: info.State.OOMKilled } : {}),
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(finishedAt !== undefined ? { finishedAt } : {}),
  };
}
