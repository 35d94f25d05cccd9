// Which replicas must leave their device now, like Kubernetes' taint-based eviction
// (NoExecuteTaintManager): a NoExecute taint evicts at once unless tolerated, and a toleration
// with tolerationSeconds keeps the replica only until addedAt + seconds.
//
// An offline device is treated as carrying `edgepilot.io/unreachable:NoExecute` since it went
// offline (whether or not the hub has set that taint yet), and every `replicas: N` workload
// tolerates it for `offlineGraceSeconds` unless it declares its own toleration for it — exactly
// the DefaultTolerationSeconds admission plugin (300 s for unreachable). `replicas: all`
// instances are never moved: they tolerate unreachable for ever (as DaemonSet pods do); another
// untolerated NoExecute taint stops them without a replacement.
import type { Toleration, WorkloadSpec } from '../protocol/index.js';
import { wellKnownTaints } from '../protocol/index.js';
import type { DeviceSnapshot } from './snapshot.js';
import type { CompiledTaint } from './tolerations.js';
import { parseTimeMs, toleratedUntil, tolerationMatches } from './tolerations.js';
import { decisionTexts } from './reasons.js';

export type EvictionPolicy = Pick<WorkloadSpec, 'replicas' | 'offlineGraceSeconds' | 'tolerations'>;

export interface EvictionInput {
  readonly devices: readonly DeviceSnapshot[];
  /** Workload name → its spec (only these fields are read). Instances of unknown workloads are left alone. */
  readonly workloads: ReadonlyMap<string, EvictionPolicy>;
  /** Epoch ms. */
  readonly now: number;
}

export interface Eviction {
  readonly instanceId: string;
  readonly workload: string;
  readonly deviceId: string;
  /** `move`: place a replacement elsewhere. `stop`: a `replicas: all` instance, not replaced. */
  readonly action: 'move' | 'stop';
  readonly reason: string;
}

export interface EvictionDecision {
  /** Sorted by device id, then instance id. */
  readonly evictions: readonly Eviction[];
  /** The earliest future time at which another eviction falls due (for the controller's timer). */
  readonly nextCheckAt: number | undefined;
}

function noExecuteTaints(device: DeviceSnapshot, now: number): CompiledTaint[] {
  const taints: CompiledTaint[] = device.taints
    .filter((t) => t.effect === 'NoExecute')
    .map((t) => ({ key: t.key, value: t.value, effect: t.effect, addedAtMs: parseTimeMs(t.addedAt) }));
  if (!device.online && !taints.some((t) => t.key === wellKnownTaints.unreachable)) {
    taints.push({ key: wellKnownTaints.unreachable, value: '', effect: 'NoExecute', addedAtMs: parseTimeMs(device.offlineSince) ?? now });
  }
  return taints;
}

const unreachableTaint: CompiledTaint = { key: wellKnownTaints.unreachable, value: '', effect: 'NoExecute', addedAtMs: undefined };

function effectiveTolerations(policy: EvictionPolicy): readonly Toleration[] {
  if (policy.replicas === 'all') {
    return [...policy.tolerations, { key: wellKnownTaints.unreachable, operator: 'Exists', value: '', effect: 'NoExecute' }];
  }
  if (policy.tolerations.some((t) => tolerationMatches(t, unreachableTaint))) return policy.tolerations;
  const grace: Toleration = {
    key: wellKnownTaints.unreachable,
    operator: 'Exists',
    value: '',
    effect: 'NoExecute',
    tolerationSeconds: policy.offlineGraceSeconds,
  };
  return [...policy.tolerations, grace];
}

function reasonFor(taint: CompiledTaint, policy: EvictionPolicy, until: number): string {
  if (taint.key === wellKnownTaints.unreachable && until > -Infinity) return decisionTexts.offlineBeyondGrace(policy.offlineGraceSeconds);
  return until === -Infinity ? decisionTexts.taintNoExecute(taint.key) : decisionTexts.taintToleranceExpired(taint.key);
}

export function decideEvictions(input: EvictionInput): EvictionDecision {
  const { now } = input;
  const evictions: Eviction[] = [];
  let nextCheckAt: number | undefined;
  // Only devices that are offline or carry a NoExecute taint can lose an instance: the others (most
  // of a fleet) are passed over without an allocation, and only the rest are sorted.
  const devices = input.devices.filter((d) => !d.online || d.taints.some((t) => t.effect === 'NoExecute')).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const device of devices) {
    const taints = noExecuteTaints(device, now);
    if (taints.length === 0) continue;
    const instances = [...device.instances].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const instance of instances) {
      const policy = input.workloads.get(instance.workload);
      if (!policy) continue;
      const tolerations = effectiveTolerations(policy);
      for (const taint of taints) {
        const until = toleratedUntil(tolerations, taint, now);
        if (until <= now) {
          evictions.push({
            instanceId: instance.id,
            workload: instance.workload,
            deviceId: device.id,
            action: policy.replicas === 'all' ? 'stop' : 'move',
            reason: reasonFor(taint, policy, until),
          });
          break;
        }
        if (until !== Infinity && (nextCheckAt === undefined || until < nextCheckAt)) nextCheckAt = until;
      }
    }
  }
  return { evictions, nextCheckAt };
}
