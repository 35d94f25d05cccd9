// Operator commands: pause, resume, promote, abort, undo. Each is checked first (a refusal is one
// line for the API, nothing written) and then applied as the call's single transition.
import type { RolloutCommand, RolloutState } from '../../protocol/index.js';
import { gateBlock, pause, rollback, startWave } from './step-waves.js';
import type { Draft } from './transition.js';

const terminal = (state: RolloutState): boolean => state.status.phase === 'rolled-back' || state.status.phase === 'aborted';

/** Why the command cannot apply to this rollout now, or undefined when it can. */
export function checkCommand(draft: Draft, command: RolloutCommand): string | undefined {
  const { status } = draft;
  const name = draft.state.name;
  if (terminal(draft.state)) return `rollout ${name} is ${status.phase}: nothing to ${command.type}`;
  switch (command.type) {
    case 'pause':
      if (status.phase === 'paused') return `rollout ${name} is paused already`;
      if (status.phase === 'completed') return `rollout ${name} is completed: nothing to pause`;
      return undefined;
    case 'resume':
      if (status.phase !== 'paused') return `rollout ${name} is ${status.phase}, not paused`;
      if (status.pause?.kind !== 'operator') return `rollout ${name} was paused because ${status.pause?.reason ?? 'of a decision'}: use rollout promote (or undo, abort)`;
      return undefined;
    case 'promote': {
      if (status.phase !== 'paused' || status.pause === null || status.pause.kind === 'operator') {
        return `rollout ${name} is not waiting for promotion (${status.phase === 'paused' ? 'paused by an operator: use resume' : status.phase})`;
      }
      const blocked = gateBlock(draft, promotedWave(draft));
      if (blocked !== undefined && command.skipGate === undefined) return `${blocked}; promote --skip-gate --reason "<why>" overrides it`;
      return undefined;
    }
    case 'abort':
      return undefined;
    case 'undo':
      return undefined;
  }
}

/** The wave a promote starts: the one a gate pause blocked, else the one after the current. */
function promotedWave(draft: Draft): number {
  const { status } = draft;
  if (status.pause?.kind === 'gate') return status.waves.findIndex((w) => w.state === 'pending');
  return status.currentWave + 1;
}

export function applyCommand(draft: Draft, command: RolloutCommand): void {
  const { status } = draft;
  const actor = command.actor;
  const who = actor === undefined ? {} : { actor };
  switch (command.type) {
    case 'pause':
      return pause(draft, 'operator', `paused by operator${command.reason ? `: ${command.reason}` : ''}`, actor);
    case 'resume': {
      status.phase = status.currentWave < 0 ? 'scheduled' : 'progressing';
      status.pause = null;
      // The time spent paused does not count against the wave's progress deadline.
      const ws = status.waves[status.currentWave];
      if (ws?.state === 'active') ws.progressAt = draft.at;
      draft.history('resumed', 'resumed by operator', who);
      draft.event('Normal', 'RolloutResumed', 'resumed by operator');
      return;
    }
    case 'promote': {
      const kind = status.pause?.kind;
      const next = promotedWave(draft);
      const current = status.waves[status.currentWave];
      if (kind === 'inconclusive' && current?.state === 'active') {
        Object.assign(current, { state: 'succeeded', finishedAt: draft.at, reason: `accepted by operator: ${status.pause?.reason ?? ''}` });
      }
      if (command.skipGate !== undefined && gateBlock(draft, next) !== undefined) {
        status.gateOverride = { reason: command.skipGate.reason, at: draft.at, ...who };
        draft.history('gate-skipped', `gate overridden by operator: ${command.skipGate.reason}`, who);
        draft.event('Warning', 'GateSkipped', `gate overridden by operator: ${command.skipGate.reason}`);
      }
      status.phase = 'progressing';
      status.pause = null;
      draft.history('promoted', `promoted by operator to ${draft.waveName(next)}`, who);
      draft.event('Normal', 'RolloutPromoted', `promoted by operator to ${draft.waveName(next)}`);
      return startWave(draft, next);
    }
    case 'abort':
      status.phase = 'aborted';
      status.pause = null;
      draft.history('aborted', `aborted by operator${command.reason ? `: ${command.reason}` : ''}; devices keep what they run`, who);
      draft.event('Warning', 'RolloutAborted', `aborted by operator${command.reason ? `: ${command.reason}` : ''}`);
      return;
    case 'undo':
      return rollback(draft, `undone by operator${command.reason ? `: ${command.reason}` : ''}`, actor);
  }
}
