// Builders and a small fleet model for rollout tests: fixed instants, hand-built observations.
import type { ReleaseManifest, ReleaseRef, RolloutAction, RolloutState } from '../../../../src/protocol/index.js';
import { releaseDigest, releaseManifestSchema, rolloutSpecSchema, sameReleaseRef } from '../../../../src/protocol/index.js';
import type { DeviceObservation, HardwareClass, ReleaseContent, StepInput, StepResult, WindowLookup } from '../../../../src/scheduler/index.js';
import { alwaysOpen, createRollout, releaseContent, step } from '../../../../src/scheduler/index.js';

export const t0 = Date.parse('2026-03-01T01:00:00Z');
export const sec = (n: number): number => n * 1000;

export function release(name: string, version: string, extra: { firmware?: { mcuModel: string; version: string }[]; image?: string } = {}): ReleaseManifest {
  return releaseManifestSchema.parse({
    apiVersion: 'edgepilot.io/v1',
    kind: 'Release',
    metadata: { name },
    spec: {
      version,
      workloads: { 'tilt-reader': { runtime: 'container', image: extra.image ?? `local/tilt:${version}` } },
      firmware: (extra.firmware ?? []).map((f) => ({ ...f, sha256: 'a'.repeat(64) })),
    },
  });
}

export const v1: ReleaseRef = { name: 'tilt', version: '1.0.0' };
export const v2Manifest = release('tilt', '2.0.0');
export const v2 = releaseContent(v2Manifest, releaseDigest(v2Manifest));

export const hw = (board = 'rock5b', mcus: HardwareClass['mcus'] = []): HardwareClass => ({ arch: 'arm64', board, mcus });

export function spec(over: Record<string, unknown> = {}) {
  return rolloutSpecSchema.parse({ selector: { matchLabels: { site: 'plant-3' } }, release: { name: 'tilt', version: '2.0.0' }, waves: [{ count: 1 }], ...over });
}

/** How a simulated device behaves once it runs the new release. */
export type Behaviour = 'good' | 'crash' | 'silent-mcu' | 'never-ready';

export interface SimDevice {
  id: string;
  labels: Record<string, string>;
  online: boolean;
  hardware: HardwareClass;
  pinned: ReleaseRef | null;
  behaviour: Behaviour;
  /** How many times its desired release changed (each is an install). */
  installs: number;
  /** MCU models it has, with the version each runs. */
  mcus: { model: string; version: string }[];
}

export function simDevice(id: string, labels: Record<string, string>, over: Partial<SimDevice> = {}): SimDevice {
  return { id, labels, online: true, hardware: hw(), pinned: v1, behaviour: 'good', installs: 0, mcus: [], ...over };
}

/** A fleet whose devices do what agents do: run what they are pinned to, report it. */
export class Fleet {
  readonly devices = new Map<string, SimDevice>();
  constructor(
    devices: SimDevice[],
    readonly target: ReleaseContent = v2,
  ) {
    for (const d of devices) this.devices.set(d.id, d);
  }

  get(id: string): SimDevice {
    const d = this.devices.get(id);
    if (d === undefined) throw new Error(`no device ${id}`);
    return d;
  }

  observe(): DeviceObservation[] {
    return [...this.devices.values()].map((d) => {
      const onRelease = sameReleaseRef(d.pinned, this.target.ref);
      const phase = onRelease && d.behaviour === 'crash' ? ('crash-loop' as const) : ('running' as const);
      return {
        id: d.id,
        labels: d.labels,
        online: d.online,
        hardware: d.hardware,
        release: d.pinned,
        applied: true,
        placedWorkloads: ['tilt-reader'],
        workloads: [{ name: 'tilt-reader', onRelease, phase, ready: d.behaviour !== 'never-ready' || !onRelease, restarts: 0 }],
        mcus: d.mcus.map((m) => {
          const fw = this.target.firmware.find((f) => f.mcuModel === m.model);
          const flashed = onRelease && fw !== undefined && d.behaviour !== 'silent-mcu';
          return { id: `${m.model}-${d.id}`, model: m.model, version: flashed && fw ? fw.version : m.version, online: !(onRelease && d.behaviour === 'silent-mcu'), saneTelemetrySamples: 50 };
        }),
      };
    });
  }

  /** Does what an action says (idempotently, as the hub must). */
  apply(action: RolloutAction): void {
    if (action.type === 'assign-release' || action.type === 'revert') {
      const to = action.type === 'assign-release' ? action.release : action.toRelease;
      for (const id of action.deviceIds) {
        const d = this.get(id);
        if (!sameReleaseRef(d.pinned, to)) {
          d.pinned = to;
          d.installs += 1;
        }
      }
    }
  }
}

export interface Driver {
  state: RolloutState;
  results: StepResult[];
}

export function newRollout(s: ReturnType<typeof spec>, fleet: Fleet, now = t0, name = 'tilt-2'): RolloutState {
  return createRollout({ name, spec: s, devices: fleet.observe(), releaseDigest: v2.digest, now });
}

export function input(fleet: Fleet, over: Partial<StepInput> = {}): StepInput {
  return { release: fleet.target, devices: fleet.observe(), window: alwaysOpen, gateVerdict: null, ...over };
}

/** Steps until nothing changes (at most 200 transitions), doing each transition's actions. */
export function settle(driver: Driver, fleet: Fleet, now: number, over: Partial<StepInput> = {}): StepResult[] {
  const done: StepResult[] = [];
  for (let i = 0; i < 200; i++) {
    const r = step(driver.state, input(fleet, over), now);
    if (r.transition === null) return done;
    driver.state = r.next;
    driver.results.push(r);
    done.push(r);
    for (const a of r.actions) fleet.apply(a);
  }
  throw new Error('no fixed point after 200 transitions');
}

export const states = (state: RolloutState): Record<string, string> =>
  Object.fromEntries(Object.entries(state.status.devices).map(([id, d]) => [id, d.state]));

export const window: (open: (id: string, now: number) => boolean, nextOpen?: number | null) => WindowLookup = (open, nextOpen = null) => (id, now) =>
  open(id, now) ? { open: true, nextOpen: null } : { open: false, nextOpen };
