// Inputs of the rollout decisions: what the hub knows about devices and the release, as plain
// data it assembles from its store (facts, reports, labels) before each call.
import type { InstancePhase, ReleaseRef, ReleaseManifest } from '../../protocol/index.js';

/** What makes two devices "the same hardware" for a canary: arch, board, attached MCUs and their firmware. */
export interface HardwareClass {
  readonly arch: string;
  readonly board: string;
  readonly mcus: readonly { readonly model: string; readonly firmwareVersion: string }[];
}

/** A device as wave planning sees it. */
export interface RolloutDeviceInfo {
  readonly id: string;
  /** Effective labels (the user's, with the well-known ones from facts laid over). */
  readonly labels: Readonly<Record<string, string>>;
  readonly online: boolean;
  readonly hardware: HardwareClass;
}

/** One workload of the release as the device last reported it. */
export interface ObservedWorkload {
  readonly name: string;
  /** The instance runs the release's template revision (the hub compares revisions). */
  readonly onRelease: boolean;
  readonly phase: InstancePhase;
  readonly ready: boolean;
  /** Restarts of the release's instance since the update began (the hub subtracts any baseline). */
  readonly restarts: number;
}

export interface ObservedMcu {
  readonly id: string;
  readonly model: string;
  /** What the MCU identifies as now. */
  readonly version: string;
  readonly online: boolean;
  /** Sane telemetry samples received since it identified with its current version (the gate's check). */
  readonly saneTelemetrySamples?: number;
}

/** A device as the rollout step sees it: planning data plus its latest reports. */
export interface DeviceObservation extends RolloutDeviceInfo {
  /** The release the device is pinned to now (null: none, only the fleet's workloads). */
  readonly release: ReleaseRef | null;
  /** The agent reported having applied the desired generation that carries the rollout's release. */
  readonly applied: boolean;
  /**
   * The workloads placement puts on this device (by their selectors, replicas and the rest), by
   * name. Of the release's workloads only these count for its health: a release may carry a
   * workload that runs on a few devices of the target only.
   */
  readonly placedWorkloads: readonly string[];
  readonly workloads: readonly ObservedWorkload[];
  readonly mcus: readonly ObservedMcu[];
  /**
   * The device reported every revision of the release it was asked to download ahead (while its
   * window is closed) as downloaded: when the window opens, the install is only a start.
   */
  readonly downloaded?: boolean;
  /** A firmware flash of this release was reported failed (gateway rolled the MCU back). */
  readonly flashFailure?: string;
}

/** The verdict of the maintenance-window function for one device at one instant. */
export interface WindowVerdict {
  readonly open: boolean;
  /** Epoch ms of the next opening when closed; null when no window will ever open. */
  readonly nextOpen: number | null;
}
export type WindowLookup = (deviceId: string, now: number) => WindowVerdict;

/** No maintenance windows: always open. */
export const alwaysOpen: WindowLookup = () => ({ open: true, nextOpen: null });

/** The hub's firmware store as rollout decisions see it (the images it could send to a gateway). */
export interface FirmwareImageLookup {
  /** The sha256 of the stored image for this MCU model and version, or null. */
  find(model: string, version: string): string | null;
  has(sha256: string): boolean;
}

/** An empty firmware store. */
export const noFirmwareImages: FirmwareImageLookup = { find: () => null, has: () => false };

/** What health verdicts need of a release. */
export interface ReleaseContent {
  readonly ref: ReleaseRef;
  readonly digest: string;
  readonly workloads: readonly string[];
  readonly firmware: readonly { readonly mcuModel: string; readonly version: string }[];
  /** Firmware a workload needs on MCUs the release does not flash itself. */
  readonly compatibility: readonly { readonly workload: string; readonly mcuModel: string; readonly versionRange: string }[];
}

export function releaseContent(release: ReleaseManifest, digest: string): ReleaseContent {
  return {
    ref: { name: release.metadata.name, version: release.spec.version },
    digest,
    workloads: Object.keys(release.spec.workloads).sort(),
    firmware: release.spec.firmware.map((f) => ({ mcuModel: f.mcuModel, version: f.version })),
    compatibility: release.spec.compatibility
      .filter((c) => !release.spec.firmware.some((f) => f.mcuModel === c.requiresFirmware.mcuModel))
      .map((c) => ({ workload: c.workload, ...c.requiresFirmware })),
  };
}
