// `replicas: all` (a DaemonSet): one instance on every device that matches, decided as the
// DaemonSet controller's nodeShouldRunDaemonPod does. Like daemon pods, these instances
// tolerate the cordon and unreachable taints: a cordoned device keeps its agents' helpers, and
// an offline device receives its instance (in its retained desired document) when it returns.
// Devices without facts cannot be matched and are left out until they report, and so is a
// device that joined (its facts came with the join request) but never connected: an instance
// waiting in its retained document would count as placed while nothing runs it.
import type { Toleration, WorkloadSpec } from '../protocol/index.js';
import { wellKnownTaints } from '../protocol/index.js';
import type { CompiledDevice, DeviceUsage } from './device.js';
import type { DeviceSnapshot } from './snapshot.js';
import type { SchedulerOptions } from './options.js';
import type { Placement } from './types.js';
import type { ReasonCount } from './reasons.js';
import { FleetState } from './fleet.js';
import { compileWorkload } from './workload.js';
import { firstDynamicFailure, staticFilters } from './filters/index.js';
import { onlineFilter } from './filters/online.js';
import { taintFilter } from './filters/taints.js';
import { serialDeviceFilter } from './filters/serial-devices.js';
import type { StaticFilter } from './filters/filter.js';
import type { CompiledWorkload } from './workload.js';
import { taintRepels } from './tolerations.js';
import { reasons, tallyReasons } from './reasons.js';
import { placeOn } from './commit.js';

export interface EveryDevicePlan {
  readonly workload: string;
  /** New instances: matching devices that do not run one yet and have room. */
  readonly placements: readonly Placement[];
  /** Devices that run one and still match. */
  readonly keep: readonly string[];
  /** Devices that run one but no longer match (selector, arch, taint...): stop it there. */
  readonly remove: readonly string[];
  /** Matching devices without room, by cause (they get an instance once room appears). */
  readonly unfit: readonly ReasonCount[];
}

const daemonTolerations: readonly Toleration[] = [
  { key: wellKnownTaints.unschedulable, operator: 'Exists', value: '', effect: 'NoSchedule' },
  { key: wellKnownTaints.unreachable, operator: 'Exists', value: '', effect: 'NoExecute' },
];

// The online filter is replaced by a facts check (and a device that never connected is left
// out). A device that matches but lacks a requested serial device is not silently skipped like
// one the selector excludes: it was meant to run an instance, so it counts as unfit, with why.
const startFilters = staticFilters.filter((f) => f !== onlineFilter && f !== serialDeviceFilter);
// A running daemon instance is stopped only by a NoExecute taint, not a NoSchedule one
// (DaemonSet controller: shouldContinueRunning), nor by a USB adapter unplugged for a moment.
const continueFilters = startFilters.filter((f) => f !== taintFilter);

function firstMismatch(filters: readonly StaticFilter[], device: CompiledDevice, workload: CompiledWorkload, now: number): string | undefined {
  for (const f of filters) {
    const reason = f.check(device, workload, now);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

function noExecuteRepels(device: CompiledDevice, workload: CompiledWorkload, now: number): string | undefined {
  for (const t of device.taints) if (t.effect === 'NoExecute' && taintRepels(workload.tolerations, t, now)) return reasons.taintNotTolerated(t.key);
  return undefined;
}

export function planEveryDeviceOnFleet(fleet: FleetState, name: string, spec: WorkloadSpec): EveryDevicePlan {
  const workload = compileWorkload(name, { ...spec, tolerations: [...spec.tolerations, ...daemonTolerations] }, fleet.labels);
  const running = fleet.replicasOf(name);
  const placements: Placement[] = [];
  const keep: string[] = [];
  const remove: string[] = [];
  const unfit: string[] = [];
  fleet.devices.forEach((device: CompiledDevice, i) => {
    const usage = fleet.usage[i] as DeviceUsage;
    if ((running.get(i) ?? 0) > 0) {
      const stop = device.hasFacts ? (firstMismatch(continueFilters, device, workload, fleet.now) ?? noExecuteRepels(device, workload, fleet.now)) : undefined;
      (stop === undefined ? keep : remove).push(device.id);
      return;
    }
    if (!device.hasFacts || device.neverConnected || firstMismatch(startFilters, device, workload, fleet.now) !== undefined) return;
    const noRoom = serialDeviceFilter.check(device, workload, fleet.now) ?? firstDynamicFailure(device, usage, workload);
    if (noRoom !== undefined) unfit.push(noRoom);
    else {
      placements.push(placeOn(device, fleet.writableUsage(i), workload));
      fleet.recordReplica(name, i);
    }
  });
  return { workload: name, placements, keep, remove, unfit: tallyReasons(unfit) };
}

/** Pure form against a snapshot. */
export function planEveryDevice(devices: readonly DeviceSnapshot[], name: string, spec: WorkloadSpec, options: SchedulerOptions): EveryDevicePlan {
  return planEveryDeviceOnFleet(new FleetState(devices, options), name, spec);
}
