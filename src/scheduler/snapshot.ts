// What the scheduler is given about the fleet: one immutable snapshot per decision.
// The hub builds it from its store (registered devices + observed facts + the instances it
// has already placed); nothing here reads a clock or performs I/O.
import type { Facts, Taint, Template } from '../protocol/index.js';

export interface HostPort {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

/** A peripheral an instance holds. Exclusive claims admit nobody else; shared claims admit other shared ones. */
export type PeripheralClaim =
  | { readonly kind: 'mcu'; readonly mcuId: string; readonly exclusive: boolean }
  | { readonly kind: 'serial'; readonly path: string; readonly exclusive: boolean };

/** One instance already placed on a device, reduced to what it occupies. */
export interface PlacedInstance {
  readonly id: string;
  readonly workload: string;
  readonly cpuMillis: number;
  readonly memoryBytes: number;
  readonly hostPorts: readonly HostPort[];
  /** Extended resources held, e.g. `{ 'rk3588.npu': 1 }`. */
  readonly deviceResources: Readonly<Record<string, number>>;
  readonly peripherals: readonly PeripheralClaim[];
}

export interface DeviceSnapshot {
  readonly id: string;
  /** User labels. The well-known arch/os/hostname labels are derived from facts (see labels.ts). */
  readonly labels: Readonly<Record<string, string>>;
  readonly taints: readonly Taint[];
  /** Cordoned (`kubectl cordon`): no new placements unless the unschedulable taint is tolerated. */
  readonly unschedulable: boolean;
  readonly online: boolean;
  readonly ready: boolean;
  /**
   * Joined but no status ever arrived: the agent never connected with its credentials (its
   * board may never have left the bench). Unlike an offline device, there is nothing to return.
   */
  readonly neverConnected?: boolean;
  /** ISO time the device went offline (status.since of the offline status); used by evictions. */
  readonly offlineSince?: string;
  /** Undefined until the agent has reported facts: such a device is never chosen. */
  readonly facts?: Facts;
  readonly instances: readonly PlacedInstance[];
}

/** The instance record for a template, as the hub stores it after a placement. */
export function placedInstance(
  id: string,
  workload: string,
  template: Template,
  peripherals: readonly PeripheralClaim[] = [],
): PlacedInstance {
  const hostPorts: HostPort[] = [];
  for (const p of template.ports) if (p.hostPort !== undefined) hostPorts.push({ port: p.hostPort, protocol: p.protocol });
  return {
    id,
    workload,
    cpuMillis: template.resources.requests.cpuMillis ?? 0,
    memoryBytes: template.resources.requests.memoryBytes ?? 0,
    hostPorts,
    deviceResources: { ...template.resources.devices },
    peripherals,
  };
}
