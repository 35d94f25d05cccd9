import type { PeripheralClaim } from '../../scheduler/index.js';
import type { DesiredState, DeviceEvent, DeviceStatus, Facts, Labels, ReportedState, Taint, WorkloadSpec } from '../../protocol/index.js';

/** What the hub stores about a device. The credential is kept only as a hash. */
export interface DeviceRecord {
  id: string;
  hardwareId: string;
  hostname: string;
  labels: Labels;
  taints: Taint[];
  unschedulable: boolean;
  /** `edgepilot drain`: replicas are being moved off, within each workload's maxUnavailable. */
  draining?: boolean;
  credentialHash: string;
  registeredAt: string;
  joinedWithToken: string;
  /** Observed: last status message and when anything was last heard from the device. */
  status?: DeviceStatus;
  lastSeen?: string;
  facts?: Facts;
  /** The device's Ed25519 public key (SPKI DER, base64), stored at the first join; a re-join must be signed with it. */
  publicKey?: string;
  /** A join for this board with another key, held until `edgepilot device approve` (or deny). */
  pendingRejoin?: PendingRejoin;
}

/** A held re-join: who asked, with which key and token; approved ones join at their next attempt. */
export interface PendingRejoin {
  publicKey: string;
  hostname: string;
  tokenId: string;
  requestedAt: string;
  approvedAt?: string;
}

export interface TokenRecord {
  id: string;
  secretHash: string;
  description: string;
  labels: Labels;
  createdAt: string;
  expiresAt: string;
  maxUses?: number;
  uses: number;
  revoked: boolean;
}

export type TokenState = 'valid' | 'expired' | 'exhausted' | 'revoked';

export function tokenState(token: TokenRecord, now: Date): TokenState {
  if (token.revoked) return 'revoked';
  if (Date.parse(token.expiresAt) <= now.getTime()) return 'expired';
  if (token.maxUses !== undefined && token.uses >= token.maxUses) return 'exhausted';
  return 'valid';
}

/** A workload as applied, with its spec normalised by the protocol schema (defaults filled in). */
export interface WorkloadRecord {
  name: string;
  labels: Labels;
  annotations: Record<string, string>;
  spec: WorkloadSpec;
  /** Hash of the template: a new revision means instances must be replaced. */
  revision: string;
  createdAt: string;
  updatedAt: string;
}

/** Where the hub placed each replica of a `replicas: N` workload (`replicas: all` needs none). */
export interface PlacementRecord {
  workload: string;
  /** Replica ordinal → device id. */
  replicas: Record<string, string>;
  /** Replica ordinal → the MCUs / serial ports the scheduler gave it (held exclusively). */
  peripherals?: Record<string, PeripheralClaim[]>;
  /** Set by the autoscaler; the workload then runs this many replicas instead of spec.replicas. */
  autoscaledReplicas?: number;
}

export type { DeviceEvent, DesiredState, ReportedState };

/** Keys of the event history. */
export const eventSubjects = {
  device: (id: string): string => `device/${id}`,
  workload: (name: string): string => `workload/${name}`,
  rollout: (name: string): string => `rollout/${name}`,
  job: (name: string): string => `job/${name}`,
  cronJob: (name: string): string => `cronjob/${name}`,
  service: (name: string): string => `service/${name}`,
};
