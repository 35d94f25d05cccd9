// What a hub's store says about each device, read from its files (store.json: labels, taints,
// desired documents; observed.json and its journal: reported state), to prove a restart lost nothing.
import { join } from 'node:path';
import { ObservedJournal } from '../../src/hub/store/observed-journal.js';
import { readControlDocument } from '../../src/hub/store/sharded-control.js';

export interface DeviceSnapshot {
  labels: Record<string, string>;
  taints: unknown[];
  unschedulable: boolean;
  desiredGeneration: number | null;
  /** JSON of the reported instances (compared as text: same content, same order). */
  reportedInstances: string | null;
}

type StoreFile = { devices: Record<string, { labels: Record<string, string>; taints: unknown[]; unschedulable?: boolean }>; desired: Record<string, { generation: number }> };

export async function snapshotStore(dataDir: string): Promise<Map<string, DeviceSnapshot>> {
  // store.json plus the fleet's shard files (schema 4).
  const store = (await readControlDocument(dataDir)) as unknown as StoreFile;
  const observed = (await new ObservedJournal(join(dataDir, 'observed.json'), (m) => console.warn(m)).read()) ?? { reported: {} as Record<string, { instances: unknown[] }> };
  const out = new Map<string, DeviceSnapshot>();
  for (const [id, d] of Object.entries(store.devices)) {
    const reported = observed.reported[id];
    out.set(id, {
      labels: d.labels,
      taints: d.taints,
      unschedulable: d.unschedulable ?? false,
      desiredGeneration: store.desired[id]?.generation ?? null,
      reportedInstances: reported ? JSON.stringify(reported.instances) : null,
    });
  }
  return out;
}

/** How many devices the snapshot shows reporting a running instance of `workload`. */
export function reportingRunning(snapshot: Map<string, DeviceSnapshot>, workload: string): number {
  let n = 0;
  for (const d of snapshot.values()) {
    const instances = d.reportedInstances === null ? [] : (JSON.parse(d.reportedInstances) as { workload?: string; phase?: string }[]);
    if (instances.some((i) => i.workload === workload && i.phase === 'running')) n += 1;
  }
  return n;
}

const sortedJson = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

/** Every difference between two snapshots, one line each (empty: identical). */
export function compareSnapshots(before: Map<string, DeviceSnapshot>, after: Map<string, DeviceSnapshot>): string[] {
  const problems: string[] = [];
  for (const [id, b] of before) {
    const a = after.get(id);
    if (!a) {
      problems.push(`${id}: missing after the restart`);
      continue;
    }
    if (sortedJson(a.labels) !== sortedJson(b.labels)) problems.push(`${id}: labels ${sortedJson(b.labels)} → ${sortedJson(a.labels)}`);
    if (JSON.stringify(a.taints) !== JSON.stringify(b.taints)) problems.push(`${id}: taints ${JSON.stringify(b.taints)} → ${JSON.stringify(a.taints)}`);
    if (a.unschedulable !== b.unschedulable) problems.push(`${id}: unschedulable ${b.unschedulable} → ${a.unschedulable}`);
    if (a.desiredGeneration !== b.desiredGeneration) problems.push(`${id}: desired generation ${b.desiredGeneration} → ${a.desiredGeneration}`);
    if (a.reportedInstances !== b.reportedInstances) problems.push(`${id}: reported instances ${b.reportedInstances} → ${a.reportedInstances}`);
  }
  for (const id of after.keys()) if (!before.has(id)) problems.push(`${id}: appeared after the restart`);
  return problems;
}
