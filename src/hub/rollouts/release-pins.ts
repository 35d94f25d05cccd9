// How a rollout changes what a device runs, kept to one rule the desired-state controller applies
// after placement: an instance of workload W on device D runs W's own template, unless a rollout
// pinned D to release R and R carries a template for W — then it runs R's template (with R's
// revision, and marked with R so the agent keeps to its maintenance window). Placement is not
// touched: a release changes *what* runs where a workload is placed, never *where*. Unpinning D
// (a revert to "no release") puts W's own template back; a revert to an earlier release pins that.
import { releaseKey, selectorMatches, type DesiredInstance, type MaintenanceWindow, type ReleasePin, type ReleaseRecord } from '../../protocol/index.js';
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
