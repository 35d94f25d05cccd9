// What the rollout step sees of each device, kept between passes. A pass over a 10,000-device
// rollout looked at every device again (its facts, its desired and reported documents) although a
// wave's reports change only that wave's devices. The store replaces a device's status, facts,
// labels and documents whole on every write and never edits them in place, so "built from the
// very same objects" means "still true": an observation is rebuilt only for a device whose
// inputs are different objects now, and the cost of a pass follows the devices that changed.
import type { ReleasePin, ReleaseRecord } from '../../protocol/index.js';
import type { DeviceObservation, RolloutDeviceInfo } from '../../scheduler/rollout/index.js';
import type { DesiredState, DeviceRecord, ReportedState } from '../store/records.js';
import { deviceInfo, observeDevice, type FleetSnapshot } from './observations.js';

interface InfoInputs {
  labels: unknown;
  status: unknown;
  facts: unknown;
}

interface ObservationInputs extends InfoInputs {
  desired: Readonly<DesiredState> | undefined;
  reported: Readonly<ReportedState> | undefined;
  /** Pins are read as copies: compared by what the observation uses of them. */
  pin: string;
}

const pinKey = (pin: ReleasePin | undefined): string => (pin ? `${pin.release.name}@${pin.release.version}` : '');
const sameInfoInputs = (a: InfoInputs, d: Readonly<DeviceRecord>): boolean => a.labels === d.labels && a.status === d.status && a.facts === d.facts;

export class ObservationCache {
  private readonly infos = new Map<string, { inputs: InfoInputs; info: RolloutDeviceInfo }>();
  /** By release digest, then device id. */
  private readonly observations = new Map<string, Map<string, { inputs: ObservationInputs; observation: DeviceObservation }>>();
  /** Observations built (not reused) so far: what a test counts. */
  built = 0;

  /** The device as a rollout's target selection sees it. */
  info(d: Readonly<DeviceRecord>): RolloutDeviceInfo {
    const entry = this.infos.get(d.id);
    if (entry && sameInfoInputs(entry.inputs, d)) return entry.info;
    const info = deviceInfo(d);
    this.infos.set(d.id, { inputs: { labels: d.labels, status: d.status, facts: d.facts }, info });
    return info;
  }

  /** observeDevice, rebuilt only when one of its inputs is a different object than last time. */
  observe(d: Readonly<DeviceRecord>, release: ReleaseRecord, fleet: FleetSnapshot): DeviceObservation {
    let byDevice = this.observations.get(release.digest);
    if (byDevice === undefined) this.observations.set(release.digest, (byDevice = new Map()));
    const desired = fleet.desired.get(d.id);
    const reported = fleet.reported.get(d.id);
    const pin = pinKey(fleet.pins.get(d.id));
    const entry = byDevice.get(d.id);
    if (entry && sameInfoInputs(entry.inputs, d) && entry.inputs.desired === desired && entry.inputs.reported === reported && entry.inputs.pin === pin) return entry.observation;
    const observation = observeDevice(d, release, fleet);
    this.built += 1;
    byDevice.set(d.id, { inputs: { labels: d.labels, status: d.status, facts: d.facts, desired, reported, pin }, observation });
    return observation;
  }

  /** Forgets devices that left the fleet and releases no live rollout uses (called once per fleet read). */
  retain(deviceIds: ReadonlySet<string>, digests: ReadonlySet<string>): void {
    for (const id of this.infos.keys()) if (!deviceIds.has(id)) this.infos.delete(id);
    for (const [digest, byDevice] of this.observations) {
      if (!digests.has(digest)) this.observations.delete(digest);
      else for (const id of byDevice.keys()) if (!deviceIds.has(id)) byDevice.delete(id);
    }
  }
}
