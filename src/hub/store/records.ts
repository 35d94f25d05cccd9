import type { DeviceEvent, DeviceStatus, Facts, Labels, Taint } from '../../protocol/index.js';

/** What the hub stores about a device. The credential is kept only as a hash. */
export interface DeviceRecord {
  id: string;
  hardwareId: string;
  hostname: string;
  labels: Labels;
  taints: Taint[];
  unschedulable: boolean;
  credentialHash: string;
  registeredAt: string;
  joinedWithToken: string;
  /** Observed: last status message and when anything was last heard from the device. */
  status?: DeviceStatus;
  lastSeen?: string;
  facts?: Facts;
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

export type { DeviceEvent };
