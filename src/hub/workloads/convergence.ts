import type { DesiredState, ReportedState } from '../../protocol/index.js';

/** How far the fleet is from what it was sent: instances reported running and ready at the revision sent. */
export interface Convergence {
  /** Devices that were sent at least one instance. */
  devices: number;
  /** ...of which report every instance running and ready at its revision. */
  devicesConverged: number;
  /** Instances in the desired documents. */
  instances: number;
  /** ...reported running and ready at the revision that was sent. */
  running: number;
}

export function emptyConvergence(): Convergence {
  return { devices: 0, devicesConverged: 0, instances: 0, running: 0 };
}

/** Adds one device's documents to `into` (called once per device by a store scan, no copies). */
export function addConvergence(into: Convergence, desired: Readonly<DesiredState> | undefined, reported: Readonly<ReportedState> | undefined): void {
  const wanted = desired?.instances ?? [];
  if (wanted.length === 0) return;
  const seen = new Map<string, string>();
  for (const r of reported?.instances ?? []) if (r.phase === 'running' && r.ready) seen.set(`${r.id}@${r.revision}`, r.id);
  let running = 0;
  for (const i of wanted) if (seen.has(`${i.id}@${i.revision}`)) running += 1;
  into.devices += 1;
  into.instances += wanted.length;
  into.running += running;
  if (running === wanted.length) into.devicesConverged += 1;
}
