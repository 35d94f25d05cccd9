// A new rollout's first stored state: every device of the plan pending in its wave.
import type { RolloutDevice, RolloutSpec, RolloutState } from '../../protocol/index.js';
import { formatReleaseRef } from '../../protocol/index.js';
import { planWaves } from './plan-waves.js';
import { iso } from './transition.js';
import type { RolloutDeviceInfo } from './types.js';

export interface CreateRolloutInput {
  readonly name: string;
  readonly spec: RolloutSpec;
  /** Devices matching the target or the gate selector, not owned by another rollout. */
  readonly devices: readonly RolloutDeviceInfo[];
  readonly releaseDigest: string;
  readonly now: number;
}

export function createRollout(input: CreateRolloutInput): RolloutState {
  const at = iso(input.now);
  const plan = planWaves(input.spec, input.devices);
  const devices: Record<string, RolloutDevice> = {};
  plan.waves.forEach((ids, wave) => {
    for (const id of ids) devices[id] = { wave, state: 'pending', since: at };
  });
  const sizes = plan.waves.map((ids) => ids.length).join(' / ');
  return {
    name: input.name,
    createdAt: at,
    spec: input.spec,
    status: {
      revision: 0,
      phase: 'scheduled',
      currentWave: -1,
      releaseDigest: input.releaseDigest,
      waves: input.spec.waves.map(() => ({ state: 'pending' as const })),
      devices,
      pause: null,
      gate: null,
      gateOverride: null,
      history: [
        {
          at,
          type: 'created',
          message: `${formatReleaseRef(input.spec.release)} to ${plan.target.length} device(s)${plan.bench.length > 0 ? ` after ${plan.bench.length} bench device(s)` : ''}; waves: ${sizes}`,
        },
      ],
      outbox: [],
    },
  };
}
