// How a rollout changes what a device runs, kept to one rule the desired-state controller applies
// after placement: an instance of workload W on device D runs W's own template, unless a rollout
// pinned D to release R and R carries a template for W — then it runs R's template (with R's
// revision, and marked with R so the agent keeps to its maintenance window). Placement is not
// touched: a release changes *what* runs where a workload is placed, never *where*. Unpinning D
// (a revert to "no release") puts W's own template back; a revert to an earlier release pins that.
import { releaseKey, selectorMatches, type DesiredInstance, type MaintenanceWindow, type ReleaseConfigPin, type ReleasePin, type ReleaseRecord, type RolloutState } from '../../protocol/index.js';
import { idsInState } from '../../scheduler/rollout/index.js';
import { templateRevision } from '../workloads/revision.js';
import { releaseRevisions } from './release-revisions.js';

/** Replaces, in place, the templates of pinned devices' instances with their release's. */
export function applyReleasePins(
  wanted: Map<string, DesiredInstance[]>,
  pins: ReadonlyMap<string, ReleasePin>,
  releases: ReadonlyMap<string, ReleaseRecord>,
): void {
  for (const [deviceId, pin] of pins) {
    const instances = wanted.get(deviceId);
    const release = releases.get(releaseKey(pin.release.name, pin.release.version));
    if (instances === undefined || release === undefined) continue;
    wanted.set(
      deviceId,
      instances.map((i) => {
        const template = release.spec.workloads[i.workload];
        if (template === undefined) return i;
        return { ...i, template, revision: releaseRevisions(release).get(i.workload) ?? templateRevision(template), release: { ...pin.release } };
      }),
    );
  }
}

/** Per pinned device, the ConfigMap/Secret versions its release pins (issue 14); devices without any are left out. */
export function releaseConfigPins(pins: ReadonlyMap<string, ReleasePin>, releases: ReadonlyMap<string, ReleaseRecord>): Map<string, ReleaseConfigPin[]> {
  const out = new Map<string, ReleaseConfigPin[]>();
  for (const [deviceId, pin] of pins) {
    const configs = releases.get(releaseKey(pin.release.name, pin.release.version))?.spec.configs;
    if (configs?.length) out.set(deviceId, configs);
  }
  return out;
}

/**
 * The windows that apply to a device, for its desired document: selectors are matched here (the
 * agent does not know its hub-side labels), so they are sent with an empty selector.
 */
export function windowsForDevice(windows: readonly MaintenanceWindow[], labels: Readonly<Record<string, string>>): MaintenanceWindow[] {
  return windows
    .filter((w) => selectorMatches(labels, w.selector))
    .map((w) => ({ ...w, selector: { matchLabels: {}, matchExpressions: [] } }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

/**
 * What devices whose turn came while their window is closed download ahead (`prefetch` in their
 * desired documents): for each of their instances that the rollout's release carries a template
 * for, that template at the release's revision. Download only: a stale entry costs a download,
 * never an install, and it goes from the document once the device leaves `waiting-window`.
 */
export function prefetchInstances(
  wanted: ReadonlyMap<string, readonly DesiredInstance[]>,
  rollouts: readonly Readonly<RolloutState>[],
  releases: ReadonlyMap<string, ReleaseRecord>,
): Map<string, DesiredInstance[]> {
  const out = new Map<string, DesiredInstance[]>();
  for (const r of rollouts) {
    if (r.status.phase === 'rolled-back' || r.status.phase === 'aborted') continue;
    const release = releases.get(releaseKey(r.spec.release.name, r.spec.release.version));
    if (release === undefined) continue;
    // From the rollout's index: not a walk of its every device per desired pass.
    for (const deviceId of idsInState(r.status.devices, 'waiting-window')) {
      const entries: DesiredInstance[] = [];
      for (const i of wanted.get(deviceId) ?? []) {
        const template = release.spec.workloads[i.workload];
        if (template === undefined) continue;
        const revision = templateRevision(template);
        if (revision !== i.revision) entries.push({ ...i, template, revision, release: { ...r.spec.release } });
      }
      if (entries.length > 0) out.set(deviceId, entries);
    }
  }
  return out;
}

/**
 * The firmware images devices waiting for their window fetch ahead: the release's images for the
 * MCU models each device has (by its facts) and does not already run at the release's version.
 */
export function prefetchFirmware(
  devices: readonly { id: string; facts?: { mcus: readonly { model: string; firmwareVersion: string }[] } | undefined }[],
  rollouts: readonly Readonly<RolloutState>[],
  releases: ReadonlyMap<string, ReleaseRecord>,
): Map<string, string[]> {
  const mcus = new Map(devices.map((d) => [d.id, d.facts?.mcus ?? []]));
  const out = new Map<string, string[]>();
  for (const r of rollouts) {
    if (r.status.phase === 'rolled-back' || r.status.phase === 'aborted') continue;
    const release = releases.get(releaseKey(r.spec.release.name, r.spec.release.version));
    if (release === undefined || release.spec.firmware.length === 0) continue;
    // From the rollout's index: not a walk of its every device per desired pass.
    for (const deviceId of idsInState(r.status.devices, 'waiting-window')) {
      const has = mcus.get(deviceId) ?? [];
      const images = release.spec.firmware.filter((f) => has.some((m) => m.model === f.mcuModel && m.firmwareVersion !== f.version)).map((f) => f.sha256);
      if (images.length > 0) out.set(deviceId, [...new Set(images)].sort());
    }
  }
  return out;
}
