// The parts of a rollout's step input that come from the fleet, kept between its transitions.
// Every transition of a pass used to filter the fleet for the rollout's devices, look at their
// labels and build the list of their observations (and the step a map of it) again, although
// within one fleet read only the transition's own devices change. Here they are kept while the
// fleet read, the rollout, its release and the other rollouts (ownership) stay the same, and
// the very same list of observations is handed out for the whole fleet read (see build).
import { formatReleaseRef, type McuTelemetry, type ReleaseRecord, type RolloutState } from '../../protocol/index.js';
import { benchDevices, inTarget, ownedDevices, releaseContent, type DeviceObservation, type RolloutDeviceInfo, type StepInput } from '../../scheduler/rollout/index.js';
import type { DeviceRecord } from '../store/records.js';
import type { ObservationCache } from './observation-cache.js';
import { windowLookup, type FleetSnapshot } from './observations.js';
import { saneTelemetrySamples } from './telemetry-check.js';

interface Kept {
  fleet: FleetSnapshot;
  others: readonly Readonly<RolloutState>[];
  name: string;
  digest: string;
  /** Devices it may take: in its target or bench, not owned by another live rollout. */
  matching: ReadonlySet<string>;
  release: StepInput['release'];
  window: StepInput['window'];
  /** The fleet's devices the step is given (built at the first transition of a fleet read). */
  relevant: readonly Readonly<DeviceRecord>[] | undefined;
  devices: readonly DeviceObservation[] | undefined;
}

const sameItems = <T>(a: readonly T[], b: readonly T[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

export class StepInputs {
  private kept: Kept | undefined;
  /** Per device info, whether a rollout (by name and release: its spec never changes) may take it. */
  private readonly matches = new WeakMap<RolloutDeviceInfo, Map<string, boolean>>();

  constructor(
    private readonly observations: ObservationCache,
    /** Recent telemetry of one MCU behind a gateway (undefined: no telemetry source). */
    private readonly telemetry: (gateway: string, mcu: string) => readonly McuTelemetry[] | undefined,
  ) {}

  /** `others`: the other stored rollouts, as this fleet read saw them. */
  build(
    rollout: Readonly<RolloutState>,
    release: ReleaseRecord,
    fleet: FleetSnapshot,
    others: readonly Readonly<RolloutState>[],
  ): Pick<StepInput, 'release' | 'window' | 'devices'> {
    let kept = this.kept;
    if (kept === undefined || kept.fleet !== fleet || kept.name !== rollout.name || kept.digest !== release.digest || !sameItems(kept.others, others)) {
      const ownedElsewhere = new Set(others.flatMap((r) => ownedDevices(r)));
      const matching = new Set<string>();
      // What a device's labels say is kept with its info (the same object while its labels, status and facts are).
      const key = `${rollout.name}\u0000${release.digest}`;
      for (const d of fleet.devices) {
        if (ownedElsewhere.has(d.id)) continue;
        const info = this.observations.info(d);
        let byRollout = this.matches.get(info);
        if (byRollout === undefined) this.matches.set(info, (byRollout = new Map()));
        let match = byRollout.get(key);
        if (match === undefined) byRollout.set(key, (match = inTarget(rollout.spec, info) || benchDevices(rollout.spec, [info]).length > 0));
        if (match) matching.add(d.id);
      }
      const content = releaseContent({ apiVersion: 'edgepilot.io/v1', kind: 'Release', metadata: { name: release.name, labels: {}, annotations: {} }, spec: release.spec }, release.digest);
      kept = this.kept = { fleet, others, name: rollout.name, digest: release.digest, matching, release: content, window: windowLookup(fleet), relevant: undefined, devices: undefined };
    }
    // The devices in its status, and those it may take: once per fleet read. Within one, a device
    // enters its status only from those it may take (membership), so the list stays complete; one
    // that left its status meanwhile is only a device the step ignores (not in the target). A
    // filter of the fleet per transition was a pass's largest cost outside the step.
    if (kept.relevant === undefined) {
      const matching = kept.matching;
      kept.relevant = fleet.devices.filter((d) => rollout.status.devices[d.id] !== undefined || matching.has(d.id));
    }
    const relevant = kept.relevant;
    let devices = kept.devices;
    if (devices === undefined) {
      let overlaid = false;
      devices = relevant.map((d) => {
        let o = this.observations.observe(d, release, fleet);
        // Telemetry counts from when the device was pinned to this release (its flash came after).
        const pin = fleet.pins.get(d.id);
        // (Devices without MCUs, most of a fleet, skip this: it copied every observation on every transition.)
        if (o.mcus.length > 0 && pin && formatReleaseRef(pin.release) === formatReleaseRef(rollout.spec.release)) {
          const since = Date.parse(pin.since);
          const frames = o.mcus.map((m) => this.telemetry(d.id, m.id));
          if (frames.every((f) => f !== undefined)) {
            o = { ...o, mcus: o.mcus.map((m, i) => ({ ...m, saneTelemetrySamples: saneTelemetrySamples(frames[i] ?? [], since) })) };
            overlaid = true;
          }
        }
        const failure = rollout.status.devices[d.id]?.flashFailure;
        if (failure !== undefined) overlaid = true;
        return failure === undefined ? o : { ...o, flashFailure: failure };
      });
      // The same list for the next transition over the same fleet read (the step then reuses its
      // map by device too), unless it carries what may change without a new read: telemetry, or
      // a flash failure (recorded by its own task, which reads the fleet again; cleared by a step).
      kept.devices = overlaid ? undefined : devices;
    }
    return { release: kept.release, window: kept.window, devices };
  }
}
