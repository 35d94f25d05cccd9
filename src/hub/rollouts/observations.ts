// What the rollout step sees of each device, assembled from the store: facts, status, the
// desired document sent and the state reported back. Pure: the controller reads, this builds.
import { releaseKey, sameReleaseRef, windowState, type MaintenanceWindow, type ReleasePin, type ReleaseRecord } from '../../protocol/index.js';
import type { DeviceObservation, ObservedWorkload, RolloutDeviceInfo, WindowLookup } from '../../scheduler/rollout/index.js';
import type { DesiredState, DeviceRecord, ReportedState } from '../store/records.js';
import { releaseRevisions } from './release-revisions.js';

/** The fleet as the store holds it: read-only views, never changed (nor to be changed) in place. */
export interface FleetSnapshot {
  readonly devices: readonly Readonly<DeviceRecord>[];
  readonly desired: ReadonlyMap<string, Readonly<DesiredState>>;
  readonly reported: ReadonlyMap<string, Readonly<ReportedState>>;
  readonly pins: ReadonlyMap<string, ReleasePin>;
  readonly windows: readonly MaintenanceWindow[];
}

export function deviceInfo(d: DeviceRecord): RolloutDeviceInfo {
  return {
    id: d.id,
    labels: d.labels,
    online: d.status?.state === 'online',
    hardware: {
      arch: d.facts?.arch ?? 'unknown',
      board: d.facts?.board.model ?? 'unknown',
      mcus: (d.facts?.mcus ?? []).map((m) => ({ model: m.model, firmwareVersion: m.firmwareVersion })),
    },
  };
}

/** One device as the step sees it during a rollout of `release`. */
export function observeDevice(d: DeviceRecord, release: ReleaseRecord, fleet: FleetSnapshot): DeviceObservation {
  const ref = { name: release.name, version: release.spec.version };
  const pin = fleet.pins.get(d.id);
  const desired = fleet.desired.get(d.id);
  const reported = fleet.reported.get(d.id);
  // Applied: the device is pinned to this release, its desired document carries the release's
  // templates, and it reported having applied that generation (or a later one).
  // A device that runs none of the release's workloads (a firmware-only release) has nothing
  // to wait for in its desired document.
  const ofRelease = (desired?.instances ?? []).filter((i) => i.workload in release.spec.workloads);
  const sent = ofRelease.every((i) => i.release !== undefined && sameReleaseRef(i.release, ref));
  const applied = pin !== undefined && sameReleaseRef(pin.release, ref) && sent && reported !== undefined && reported.observedGeneration >= (desired?.generation ?? 0);
  const workloads: ObservedWorkload[] = [];
  for (const [name, revision] of releaseRevisions(release)) {
    for (const i of reported?.instances ?? []) {
      if (i.workload !== name) continue;
      // The agent resets an instance's restart count when it replaces it with a new revision,
      // so the count of an instance on the release's revision is "restarts since the update".
      workloads.push({ name, onRelease: i.revision === revision, phase: i.phase, ready: i.ready, restarts: i.restarts });
    }
  }
  // Downloaded ahead: every revision of this release listed for prefetch is reported downloaded.
  const prefetch = (desired?.prefetch ?? []).filter((i) => i.release !== undefined && sameReleaseRef(i.release, ref));
  const done = new Set((reported?.prefetched ?? []).filter((p) => p.state === 'downloaded').map((p) => `${p.id}@${p.revision}`));
  const downloaded = prefetch.length > 0 && prefetch.every((i) => done.has(`${i.id}@${i.revision}`));
  return {
    ...deviceInfo(d),
    release: pin?.release ?? null,
    applied,
    ...(downloaded ? { downloaded } : {}),
    // Placement decides where a workload runs (the release only changes what): the desired
    // document's instances say which workloads this device should run.
    placedWorkloads: [...new Set((desired?.instances ?? []).map((i) => i.workload))].sort(),
    workloads,
    mcus: (d.facts?.mcus ?? []).map((m) => ({ id: m.id, model: m.model, version: m.firmwareVersion, online: m.online })),
  };
}

/** The maintenance-window function for each device's labels (deny beats allow; none: always open). */
export function windowLookup(fleet: FleetSnapshot): WindowLookup {
  const labels = new Map(fleet.devices.map((d) => [d.id, d.labels]));
  return (deviceId, now) => {
    if (fleet.windows.length === 0) return { open: true, nextOpen: null };
    const state = windowState(fleet.windows, labels.get(deviceId) ?? {}, now);
    return { open: state.open, nextOpen: state.nextOpen ?? null };
  };
}

export const releasesByKey = (releases: readonly ReleaseRecord[]): Map<string, ReleaseRecord> => new Map(releases.map((r) => [releaseKey(r.name, r.spec.version), r]));
