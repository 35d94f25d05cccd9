// `edgepilot drain <device>`: which replicas to move off a drained device now. Like kubectl
// drain through the eviction API with a PodDisruptionBudget: a workload gives up at most
// maxUnavailable replicas at a time (the hub counts a moved replica as unavailable until it is
// ready on its new device, and calls again). Replicas that are not ready already cost nothing
// and move at once (unhealthyPodEvictionPolicy: AlwaysAllow). `replicas: all` instances stay,
// as `kubectl drain --ignore-daemonsets` leaves DaemonSet pods.
import type { WorkloadSpec } from '../protocol/index.js';
import type { DeviceSnapshot } from './snapshot.js';
import { decisionTexts } from './reasons.js';

export interface DisruptionBudget {
  readonly replicas: WorkloadSpec['replicas'];
  readonly maxUnavailable: number;
  /** Replicas of this workload unavailable anywhere right now (not ready, or being moved). */
  readonly unavailable: number;
}

export interface DrainInput {
  readonly device: DeviceSnapshot;
  readonly budgets: ReadonlyMap<string, DisruptionBudget>;
  /** Instance ids (on this device) that are not ready. */
  readonly notReady: ReadonlySet<string>;
}

export interface DrainItem {
  readonly instanceId: string;
  readonly workload: string;
  readonly reason: string;
}

export interface DrainPlan {
  readonly move: readonly DrainItem[];
  readonly waiting: readonly DrainItem[];
  readonly ignored: readonly DrainItem[];
  /** Nothing left to move: the device is drained (ignored instances aside). */
  readonly complete: boolean;
}

/** The budget from a workload's spec: its updateStrategy.maxUnavailable. */
export function disruptionBudget(spec: Pick<WorkloadSpec, 'replicas' | 'updateStrategy'>, unavailable: number): DisruptionBudget {
  return { replicas: spec.replicas, maxUnavailable: spec.updateStrategy.maxUnavailable, unavailable };
}

export function planDrain(input: DrainInput): DrainPlan {
  const move: DrainItem[] = [];
  const waiting: DrainItem[] = [];
  const ignored: DrainItem[] = [];
  const instances = [...input.device.instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const allowance = new Map<string, number>();
  for (const inst of instances) {
    const item = (reason: string): DrainItem => ({ instanceId: inst.id, workload: inst.workload, reason });
    const budget = input.budgets.get(inst.workload);
    if (!budget) {
      ignored.push(item(decisionTexts.drainUnknownWorkload));
      continue;
    }
    if (budget.replicas === 'all') {
      ignored.push(item(decisionTexts.drainEveryDevice));
      continue;
    }
    if (input.notReady.has(inst.id)) {
      move.push(item(decisionTexts.drainNotReady));
      continue;
    }
    const left = allowance.get(inst.workload) ?? Math.max(0, budget.maxUnavailable - budget.unavailable);
    if (left > 0) {
      move.push(item(`within maxUnavailable ${budget.maxUnavailable}`));
      allowance.set(inst.workload, left - 1);
    } else {
      allowance.set(inst.workload, 0);
      waiting.push(item(decisionTexts.drainBudget(budget.maxUnavailable, budget.unavailable)));
    }
  }
  return { move, waiting, ignored, complete: move.length === 0 && waiting.length === 0 };
}
