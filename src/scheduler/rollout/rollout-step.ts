// THE rollout state machine: step(rollout, observations, now) makes at most one transition.
import type { RolloutState } from '../../protocol/index.js';
import { applyCommand, checkCommand } from './step-commands.js';
import { membershipTransition, observeTransition } from './step-devices.js';
import { assignTransition, judgeTransition, startWave } from './step-waves.js';
import { deviceIndex } from './device-index.js';
import type { StepInput, StepResult } from './transition.js';
import { Draft, commit, ms, observationMap } from './transition.js';

function startTransition(draft: Draft): boolean {
  const { status, spec } = draft;
  if (status.phase !== 'scheduled') return false;
  if (spec.startAt !== undefined && draft.now < ms(spec.startAt)) return false;
  status.phase = 'progressing';
  draft.history('started', spec.startAt === undefined ? 'started' : `started (start time ${spec.startAt})`);
  draft.event('Normal', 'RolloutStarted', `rollout of ${spec.release.name}@${spec.release.version} started`);
  startWave(draft, 0);
  return true;
}

/** In order: the first that applies is the call's transition. */
const transitions: readonly (readonly [string, (draft: Draft) => boolean])[] = [
  ['start', startTransition],
  ['membership', membershipTransition],
  ['observe', observeTransition],
  ['judge', judgeTransition],
  ['assign', assignTransition],
];

/**
 * One transition of the rollout, or none. Write `next` durably, then do `actions` (they are
 * also in next.status.outbox: a hub that restarts does the outbox of the state it reads again;
 * they are idempotent). Call again until `transition` is null, and at `nextCheckAt`.
 */
export function step(rollout: RolloutState, input: StepInput, now: number): StepResult {
  const draft = new Draft(rollout, input, now);
  if (input.command !== undefined) {
    const refusal = checkCommand(draft, input.command);
    if (refusal !== undefined) {
      return { next: rollout, actions: [], events: [], transition: null, refused: { code: 'RolloutCommandRefused', message: refusal }, nextCheckAt: nextCheckAt(rollout, input, now) };
    }
    applyCommand(draft, input.command);
    const done = commit(draft, `command:${input.command.type}`);
    return { ...done, nextCheckAt: nextCheckAt(done.next, input, now) };
  }
  if (rollout.status.phase === 'rolled-back' || rollout.status.phase === 'aborted') {
    return { next: rollout, actions: [], events: [], transition: null, nextCheckAt: null };
  }
  for (const [name, transition] of transitions) {
    if (!transition(draft)) continue;
    const done = commit(draft, name);
    return { ...done, nextCheckAt: nextCheckAt(done.next, input, now) };
  }
  return { next: rollout, actions: [], events: [], transition: null, nextCheckAt: nextCheckAt(rollout, input, now) };
}

/** The earliest instant at which time alone (a start, soak, deadline or window) changes something. */
export function nextCheckAt(rollout: RolloutState, input: StepInput, now: number): number | null {
  const { status, spec } = rollout;
  const times: number[] = [];
  if (status.phase === 'rolled-back' || status.phase === 'aborted') return null;
  if (status.phase === 'scheduled' && spec.startAt !== undefined) times.push(ms(spec.startAt));
  const observed = observationMap(input);
  // The devices a time can matter for, from the index (not every device of the rollout).
  const index = deviceIndex(status.devices);
  const timed: string[] = [];
  for (const w of index.waveNumbers()) for (const s of ['updating', 'verifying', 'waiting-window'] as const) for (const id of index.ids(w, s)) timed.push(id);
  for (const id of timed) {
    const d = status.devices[id] as RolloutState['status']['devices'][string];
    const wave = spec.waves[d.wave];
    if (wave === undefined) continue;
    if (d.state === 'updating' || d.state === 'verifying') {
      times.push(ms(d.updateStartedAt ?? d.since) + wave.healthyDeadlineSeconds * 1000);
      if (d.verifyingSince !== undefined) times.push(ms(d.verifyingSince) + wave.minHealthySeconds * 1000);
    } else if (d.state === 'waiting-window' && observed.get(id)?.online === true) {
      const next = input.window(id, now).nextOpen;
      if (next !== null) times.push(next);
    }
  }
  const ws = status.waves[status.currentWave];
  const wave = spec.waves[status.currentWave];
  if (status.phase === 'progressing' && ws?.state === 'active' && wave !== undefined) {
    // Not while every unsettled device waits for a window: the deadline is held then (judge).
    const c = index.waveCounts(status.currentWave);
    const unsettled = c.pending + c.waitingWindow + c.inFlight;
    if (!(unsettled > 0 && c.waitingWindow === unsettled)) times.push(ms(ws.progressAt ?? ws.startedAt ?? rollout.createdAt) + wave.progressDeadlineSeconds * 1000);
  }
  return times.length === 0 ? null : Math.max(now, Math.min(...times));
}
