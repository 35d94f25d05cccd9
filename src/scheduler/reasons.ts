// Every text the scheduler shows a technician, in one place. Worded after kube-scheduler's
// FitError ("0/5 nodes are available: 3 Insufficient memory, ..."), shortened for a terminal.

export const reasons = {
  offline: 'device offline',
  notReady: 'device not ready',
  noFacts: 'no facts reported',
  cordoned: 'device cordoned',
  containerRuntimeMissing: 'container runtime unavailable',
  processRuntimeMissing: 'process runtime unavailable',
  archMismatch: 'arch mismatch',
  osMismatch: 'os mismatch',
  selectorMismatch: 'selector mismatch',
  affinityMismatch: 'required affinity mismatch',
  insufficientCpu: 'insufficient cpu',
  insufficientMemory: 'insufficient memory',
  insufficientDisk: 'insufficient disk',
  noFreeSerialPort: 'no free serial port',
  missingSerialDevice: (path: string) => `missing serial device ${path}`,
  taintNotTolerated: (key: string) => `taint ${key} not tolerated`,
  hostPortInUse: (port: string) => `host port ${port} in use`,
  insufficientResource: (name: string) => `insufficient ${name}`,
  noFreeMcu: (model: string | undefined) => (model === undefined ? 'no free MCU' : `no free ${model} MCU`),
  missingTopologyLabel: (key: string) => `missing topology label ${key}`,
  spreadSkewExceeded: (key: string, maxSkew: number) => `topology spread ${key} maxSkew ${maxSkew} exceeded`,
} as const;

/** The domain name used in spread texts for the per-device level. */
export const perDeviceTopology = 'device';

export interface ReasonCount {
  readonly reason: string;
  readonly devices: number;
}

/**
 * `0/120 devices fit: 80 insufficient memory, 30 arch mismatch, ...`.
 * Causes are listed by count, largest first; equal counts alphabetically (kube-scheduler sorts
 * its reasons alphabetically only; the count first puts the dominant cause where the eye lands).
 */
export function formatUnfitSummary(fitting: number, total: number, causes: readonly ReasonCount[]): string {
  const head = `${fitting}/${total} devices fit`;
  if (causes.length === 0) return total === 0 ? `${head}: no devices` : head;
  return `${head}: ${causes.map((c) => `${c.devices} ${c.reason}`).join(', ')}`;
}

/** Counts each device's reason; the order does not depend on the order of the devices. */
export function tallyReasons(perDevice: Iterable<string | undefined>): ReasonCount[] {
  const counts = new Map<string, number>();
  for (const r of perDevice) if (r !== undefined) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts]
    .map(([reason, devices]) => ({ reason, devices }))
    .sort((a, b) => b.devices - a.devices || (a.reason < b.reason ? -1 : a.reason > b.reason ? 1 : 0));
}

/** Texts for evictions, drains and autoscaling decisions. */
export const decisionTexts = {
  offlineBeyondGrace: (seconds: number) => `device offline for more than ${seconds}s`,
  taintNoExecute: (key: string) => `NoExecute taint ${key} not tolerated`,
  taintToleranceExpired: (key: string) => `NoExecute taint ${key} tolerated until its tolerationSeconds expired`,
  drainUnknownWorkload: 'workload unknown to the hub',
  drainEveryDevice: 'runs on every device (replicas: all): left in place',
  drainNotReady: 'not ready: moving it costs no availability',
  drainBudget: (maxUnavailable: number, unavailable: number) =>
    `waiting: ${unavailable} of maxUnavailable ${maxUnavailable} replicas already unavailable`,
} as const;
