// What the pace of config changes (config-pacing.ts) reads from the hub: who reads which object,
// what each device was last sent, its reported state, the workloads' maxUnavailable.
import type { ConfigKind, DesiredInstance, DesiredState, ReleaseConfigPin, ReportedInstance, ReportedState } from '../../protocol/index.js';
import type { DeviceRecord } from '../store/records.js';
import type { HubStore } from '../store/repository.js';
import { templateConfigRefs } from './config-delivery.js';
import { paceConfigChanges, CONFIG_READY_GRACE_MS, CONFIG_STABLE_MS, type DeviceProgress, type PaceResult } from './config-pacing.js';
import { configObjectKey, type ConfigObjectRecord } from './config-records.js';

export interface PaceContext {
  wanted: ReadonlyMap<string, readonly DesiredInstance[]>;
  stored: ReadonlyMap<string, Readonly<ConfigObjectRecord>>;
  pins: ReadonlyMap<string, readonly ReleaseConfigPin[]>;
  /** The documents devices were last sent (stored before publishing: durable). */
  published: ReadonlyMap<string, Readonly<DesiredState>>;
  devices: readonly Readonly<DeviceRecord>[];
  fleet: Pick<HubStore, 'workloads' | 'deviceState'>;
  now: Date;
  /** False: every device keeps the version it has (a pass over some devices only). */
  advance?: boolean;
}

const sentVersion = (desired: Readonly<DesiredState> | undefined, kind: ConfigKind, name: string): string | undefined =>
  desired?.configs?.find((c) => c.kind === kind && c.name === name)?.version;

/**
 * Whether the reported instance runs the ConfigMap/Secret versions it was sent: the agent reports the
 * configRevision it started with. An agent too old to say is believed once it started after the
 * document was issued.
 */
function startedWith(seen: ReportedInstance, sent: DesiredInstance, issuedAt: string): boolean {
  if (sent.configRevision === undefined) return true;
  if (seen.configRevision !== undefined) return seen.configRevision === sent.configRevision;
  return seen.startedAt !== undefined && Date.parse(seen.startedAt) >= Date.parse(issuedAt);
}

/** How a device is doing with what it was last sent, for the instances of it that read `kind/name`. */
function progressOf(desired: Readonly<DesiredState> | undefined, reported: Readonly<ReportedState> | undefined, kind: ConfigKind, name: string, now: Date): DeviceProgress {
  if (!desired || !reported || reported.observedGeneration < desired.generation) return { state: 'progress' };
  const lateAt = Date.parse(desired.issuedAt) + CONFIG_READY_GRACE_MS;
  let stableAt = Number.NEGATIVE_INFINITY;
  for (const sent of desired.instances) {
    if (!templateConfigRefs(sent.template).some((r) => r.kind === kind && r.name === name)) continue;
    const seen = reported.instances.find((r) => r.id === sent.id);
    if (seen && (seen.phase === 'crash-loop' || seen.phase === 'failed')) {
      return { state: 'failed', instance: sent.id, workload: sent.workload, why: `${seen.phase}${seen.lastError ? `: ${seen.lastError.slice(0, 200)}` : ''}` };
    }
    if (seen?.ready === true && startedWith(seen, sent, desired.issuedAt)) {
      // Ready is not enough: it must stay up a while (a report can come between its start and its crash).
      stableAt = Math.max(stableAt, Date.parse(seen.startedAt ?? desired.issuedAt) + CONFIG_STABLE_MS);
      continue;
    }
    if (now.getTime() > lateAt) return { state: 'failed', instance: sent.id, workload: sent.workload, why: `not ready ${CONFIG_READY_GRACE_MS / 1000} s after the change` };
    return { state: 'progress', recheckAt: lateAt };
  }
  return now.getTime() < stableAt ? { state: 'progress', recheckAt: stableAt } : { state: 'done' };
}

/**
 * The pace of every object some device is behind on. Cheap when nothing is changing: the fleet's
 * reports and workloads are read only when a device was sent an earlier version than the newest.
 */
export async function planConfigPace(ctx: PaceContext): Promise<PaceResult> {
  const readers = new Map<string, string[]>();
  const readingWorkloads = new Map<string, Set<string>>();
  for (const [deviceId, instances] of ctx.wanted) {
    const pinned = ctx.pins.get(deviceId) ?? [];
    for (const instance of instances) {
      for (const ref of templateConfigRefs(instance.template)) {
        if (pinned.some((p) => p.kind === ref.kind && p.name === ref.name)) continue;
        const key = configObjectKey(ref.kind, ref.name);
        if (!ctx.stored.has(key)) continue;
        const list = readers.get(key) ?? [];
        if (list.at(-1) !== deviceId) list.push(deviceId);
        readers.set(key, list);
        readingWorkloads.set(key, (readingWorkloads.get(key) ?? new Set()).add(instance.workload));
      }
    }
  }
  const behind = [...readers].some(([key, ids]) => {
    const record = ctx.stored.get(key);
    return record !== undefined && ids.some((id) => {
      const sent = sentVersion(ctx.published.get(id), record.kind, record.name);
      return sent !== undefined && sent !== record.version;
    });
  });
  if (!behind) return { held: new Map(), halts: [], moving: false };
  const [workloads, reported] = await Promise.all([ctx.fleet.workloads.list(), ctx.fleet.deviceState.reportedSnapshot()]);
  const maxUnavailable = new Map(workloads.map((w) => [w.name, w.spec.updateStrategy.maxUnavailable]));
  const online = new Set(ctx.devices.filter((d) => d.status?.state === 'online').map((d) => d.id));
  return paceConfigChanges({
    ...(ctx.advance === false ? { advance: false } : {}),
    objects: [...readers.keys()].flatMap((key) => {
      const record = ctx.stored.get(key);
      if (!record) return [];
      const kept = new Set((record.history ?? []).map((v) => v.version));
      return [{ kind: record.kind, name: record.name, version: record.version, kept: (v: string) => kept.has(v) }];
    }),
    readers,
    sent: (deviceId, kind, name) => sentVersion(ctx.published.get(deviceId), kind, name),
    online: (deviceId) => online.has(deviceId),
    progress: (deviceId, kind, name) => progressOf(ctx.published.get(deviceId), reported.get(deviceId), kind, name, ctx.now),
    // The strictest workload that reads it sets the pace (a workload without a spec here paces one at a time).
    budget: (kind, name) => Math.min(...[...(readingWorkloads.get(configObjectKey(kind, name)) ?? [])].map((w) => maxUnavailable.get(w) ?? 1)),
  });
}
