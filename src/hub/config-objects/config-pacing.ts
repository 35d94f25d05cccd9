// Paced config changes (issue 14). A new version of a ConfigMap or Secret does not reach every device
// that reads it at once: like a template change it moves a few devices at a time, and stops when a
// device's instance fails after the change. The decision is pure and keeps no state of its own: what a
// device was last sent (its stored desired document) says which version it has, and its reported
// state says whether its instances came up with it. A device whose release pins a version is not paced
// here (the rollout's waves pace it).
import type { ConfigKind } from '../../protocol/index.js';

/** How long an instance may stay unready after its device applied a new version before the pace stops. */
export const CONFIG_READY_GRACE_MS = 60_000;
/**
 * How long an instance must have run ready with the new version before its device counts as moved
 * (Kubernetes' minReadySeconds): one that crashes a moment after it starts is not a success.
 */
export const CONFIG_STABLE_MS = 5_000;

/** How one device is doing with the version it was sent. */
export type DeviceProgress =
  /** Applied, and every instance that reads the object is running and ready. */
  | { state: 'done' }
  /**
   * Not applied yet, instances still starting, or not ready for CONFIG_STABLE_MS yet. Holds one of
   * the pace's slots. `recheckAt`: when time alone changes the verdict (stable, or late).
   */
  | { state: 'progress'; recheckAt?: number }
  /** Offline: gets the newest version when it returns, holding no slot meanwhile. */
  | { state: 'offline' }
  /** An instance that reads the object crashed or stayed unready after the change: the pace stops. */
  | { state: 'failed'; instance: string; workload: string; why: string };

export interface PaceObject {
  kind: ConfigKind;
  name: string;
  /** The newest version. */
  version: string;
  /** Whether an earlier version's content is still kept (only those can be held back). */
  kept(version: string): boolean;
}

export interface PaceInput {
  objects: readonly PaceObject[];
  /** Devices whose instances read each object (`ConfigMap/<name>` → device ids), pinned devices left out. */
  readers: ReadonlyMap<string, readonly string[]>;
  /** The version of an object the device was last sent, if any. */
  sent(deviceId: string, kind: ConfigKind, name: string): string | undefined;
  online(deviceId: string): boolean;
  /** Only asked for devices that were sent the newest version. */
  progress(deviceId: string, kind: ConfigKind, name: string): DeviceProgress;
  /** How many devices may be on their way to a new version of the object at once (≥ 1). */
  budget(kind: ConfigKind, name: string): number;
  /** False: no device moves now (the input covers some devices only, not the whole change). */
  advance?: boolean;
}

export interface PaceHalt {
  kind: ConfigKind;
  name: string;
  version: string;
  deviceId: string;
  instance: string;
  workload: string;
  why: string;
  /** Devices left on an earlier version. */
  held: number;
}

export interface PaceResult {
  /** Devices that keep an earlier version for now: `deviceId` → `ConfigMap/<name>` → version. */
  held: Map<string, Map<string, string>>;
  halts: PaceHalt[];
  /** Whether any object is still on its way (its devices' reports decide the next step). */
  moving: boolean;
  /** The earliest instant at which time alone moves the pace (a device's instances become stable or late). */
  nextCheckAt?: number;
}

/**
 * Which devices move to each object's newest version now. A device that never had the object, or
 * whose earlier version is no longer kept, or that is offline, gets the newest at once (nothing to
 * hold back, or no slot to hold: it converges when it returns). The others move `budget` at a time,
 * by device id, each holding its slot until its instances are ready; any failure stops the rest.
 */
export function paceConfigChanges(input: PaceInput): PaceResult {
  const result: PaceResult = { held: new Map(), halts: [], moving: false };
  for (const object of input.objects) {
    const key = `${object.kind}/${object.name}`;
    const waiting: { deviceId: string; version: string }[] = [];
    let inFlight = 0;
    const failures: { deviceId: string; progress: Extract<DeviceProgress, { state: 'failed' }> }[] = [];
    for (const deviceId of [...(input.readers.get(key) ?? [])].sort()) {
      const sent = input.sent(deviceId, object.kind, object.name);
      if (sent === object.version) {
        // An offline device holds no slot: it applies the version when it returns.
        if (!input.online(deviceId)) continue;
        const progress = input.progress(deviceId, object.kind, object.name);
        if (progress.state === 'progress') {
          inFlight += 1;
          if (progress.recheckAt !== undefined) result.nextCheckAt = Math.min(result.nextCheckAt ?? Infinity, progress.recheckAt);
        }
        if (progress.state === 'failed') failures.push({ deviceId, progress });
        continue;
      }
      if (sent === undefined || !object.kept(sent) || !input.online(deviceId)) continue;
      waiting.push({ deviceId, version: sent });
    }
    const slots = failures.length > 0 || input.advance === false ? 0 : Math.max(0, Math.max(1, input.budget(object.kind, object.name)) - inFlight);
    const held = waiting.slice(slots);
    for (const { deviceId, version } of held) {
      const perDevice = result.held.get(deviceId) ?? new Map<string, string>();
      perDevice.set(key, version);
      result.held.set(deviceId, perDevice);
    }
    // A failure with nobody left to hold back stops nothing; the instance's own events say it failed.
    if (held.length > 0) for (const { deviceId, progress } of failures) {
      result.halts.push({ kind: object.kind, name: object.name, version: object.version, deviceId, instance: progress.instance, workload: progress.workload, why: progress.why, held: held.length });
    }
    if (waiting.length > 0 || inFlight > 0) result.moving = true;
  }
  return result;
}
