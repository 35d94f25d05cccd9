// How one pass's steps may run at once. The planner stays a pure list of steps; this groups them
// (also purely) into lanes, and the reconciler runs lanes concurrently with a bound. Steps of one
// instance id stay in plan order in one lane (stop the old revision, remove it, start the new
// one); lanes of different ids share nothing but the engine, so ten container starts need not
// queue behind each other.
import type { Step } from './model.js';

/** The instance id a step acts on: the unit whose steps must not be reordered. */
export function stepInstance(step: Step): string {
  switch (step.kind) {
    case 'start':
    case 'ensure-image':
    case 'update-config-files':
      return step.instance.id;
    case 'record-exit':
      return step.observed.id;
    case 'stop':
    case 'remove':
    case 'wait':
    case 'fail':
    case 'restart-for-config':
      return step.id;
  }
}

export interface Lanes {
  /**
   * Lanes without a start (stops and removals of what is no longer desired, exits to record):
   * they run, all of them, before any install, so a host port, a serial device or memory an
   * old instance holds is free before a new instance of another id asks for it, as it was when
   * every step ran in plan order.
   */
  readonly release: Step[][];
  /** Lanes that start or download something, each with the steps its start depends on. */
  readonly install: Step[][];
}

/** Groups acting steps (no `wait`) by instance, in first-appearance order. */
export function lanesOf(steps: readonly Step[]): Lanes {
  const byId = new Map<string, Step[]>();
  for (const step of steps) {
    if (step.kind === 'wait') continue;
    const id = stepInstance(step);
    const lane = byId.get(id);
    if (lane) lane.push(step);
    else byId.set(id, [step]);
  }
  const release: Step[][] = [];
  const install: Step[][] = [];
  // A download (ensure-image) frees nothing, so it queues with the installs, not ahead of them.
  for (const lane of byId.values()) (lane.some((s) => s.kind === 'start' || s.kind === 'ensure-image') ? install : release).push(lane);
  return { release, install };
}

/**
 * Runs `work` over `items` with at most `limit` at once, in order of `items`. Starts nothing new
 * once `signal` is aborted. Every started item settles before this returns; the first failure
 * is then thrown (the other lanes' work is not thrown away because one instance failed).
 */
export async function runBounded<T>(items: readonly T[], limit: number, signal: AbortSignal, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !signal.aborted) {
      const item = items[next++] as T;
      try {
        await work(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure) throw failure.error;
}
