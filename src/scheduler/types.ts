// The scheduler's request and result shapes.
import type { WorkloadSpec } from '../protocol/index.js';
import type { PeripheralClaim } from './snapshot.js';
import type { ReasonCount } from './reasons.js';

export interface PlacementRequest {
  /** Workload name (metadata.name): matched against `PlacedInstance.workload` for spreading. */
  readonly name: string;
  readonly spec: WorkloadSpec;
  /** How many new replicas to place. Replicas already placed are read from the snapshot. */
  readonly replicas: number;
}

export interface Placement {
  readonly deviceId: string;
  /** The MCUs / serial ports this replica was given; the hub passes them to the agent. */
  readonly peripherals: readonly PeripheralClaim[];
}

export interface Unplaced {
  readonly replicas: number;
  /** `0/120 devices fit: 80 insufficient memory, 30 arch mismatch, ...` */
  readonly summary: string;
  readonly causes: readonly ReasonCount[];
}

export interface PlacementResult {
  readonly workload: string;
  /** One per placed replica, in the order they were placed. */
  readonly placements: readonly Placement[];
  /** Undefined when every replica was placed. Every unplaced replica fails for the same reasons. */
  readonly unplaced: Unplaced | undefined;
}
