// Which device goes in which wave. Deterministic: the same devices and spec give the same plan,
// whatever order the devices come in (they are sorted by id; online devices are preferred where
// a wave takes "some" devices, so a canary is not wasted on a board that would only be deferred).
import type { RolloutSpec, RolloutStatus, WaveSpec } from '../../protocol/index.js';
import { selectorMatches } from '../../protocol/index.js';
import type { HardwareClass, RolloutDeviceInfo } from './types.js';

/** `arm64|Rock 5B|stm32f103@2.0.0+stc89c52@1.1.0`: devices with equal keys are the same hardware for a canary. */
export function hardwareClassKey(h: HardwareClass): string {
  const mcus = h.mcus.map((m) => `${m.model}@${m.firmwareVersion}`).sort();
  return `${h.arch}|${h.board}|${mcus.join('+')}`;
}

export interface WavePlan {
  /** Device ids per wave, in spec order (index i is spec.waves[i]). */
  readonly waves: readonly (readonly string[])[];
  /** Bench devices of the gate wave: not part of the target. */
  readonly bench: readonly string[];
  /** Target devices (everything but the bench). */
  readonly target: readonly string[];
}

const byId = (a: RolloutDeviceInfo, b: RolloutDeviceInfo): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const onlineFirst = (a: RolloutDeviceInfo, b: RolloutDeviceInfo): number => Number(b.online) - Number(a.online) || byId(a, b);

export const isGateWave = (w: WaveSpec | undefined): boolean => w?.gate !== undefined;

/** Devices matching the gate wave's selector (none without a gate wave). */
export function benchDevices(spec: RolloutSpec, devices: readonly RolloutDeviceInfo[]): RolloutDeviceInfo[] {
  const gate = spec.waves[0];
  if (gate?.gate === undefined || gate.selector === undefined) return [];
  const selector = gate.selector;
  return devices.filter((d) => selectorMatches(d.labels, selector)).sort(byId);
}

/** Is this device in the rollout's target (matches the selector and is not a bench device)? */
export function inTarget(spec: RolloutSpec, device: RolloutDeviceInfo): boolean {
  const gate = spec.waves[0];
  if (gate?.gate !== undefined && gate.selector !== undefined && selectorMatches(device.labels, gate.selector)) return false;
  return selectorMatches(device.labels, spec.selector);
}

/**
 * Assigns every target device to one wave, in order: the gate takes the bench; a selector wave
 * takes its matches among the devices not yet taken; `count` takes that many of the rest;
 * `percent` takes ceil(percent × rest / 100); the canary takes one device of each hardware class
 * of the rest. Whatever the waves leave goes to the last wave.
 */
export function planWaves(spec: RolloutSpec, devices: readonly RolloutDeviceInfo[]): WavePlan {
  const bench = benchDevices(spec, devices);
  let rest = devices.filter((d) => inTarget(spec, d)).sort(byId);
  const target = rest.map((d) => d.id);
  const waves: string[][] = [];
  for (const wave of spec.waves) {
    let taken: RolloutDeviceInfo[];
    if (wave.gate !== undefined) taken = bench;
    else if (wave.selector !== undefined) {
      const selector = wave.selector;
      taken = rest.filter((d) => selectorMatches(d.labels, selector));
    } else if (wave.count !== undefined) taken = [...rest].sort(onlineFirst).slice(0, wave.count);
    else if (wave.percent !== undefined) taken = [...rest].sort(onlineFirst).slice(0, Math.ceil((wave.percent * rest.length) / 100));
    else taken = canaryDevices(rest);
    if (wave.gate === undefined) {
      const ids = new Set(taken.map((d) => d.id));
      rest = rest.filter((d) => !ids.has(d.id));
    }
    waves.push(taken.map((d) => d.id).sort());
  }
  const last = waves[waves.length - 1];
  if (last !== undefined && rest.length > 0 && !isGateWave(spec.waves[waves.length - 1])) {
    waves[waves.length - 1] = [...last, ...rest.map((d) => d.id)].sort();
  }
  return { waves, bench: bench.map((d) => d.id), target };
}

/** One device per distinct hardware class: the first online one by id, else the first by id. */
export function canaryDevices(devices: readonly RolloutDeviceInfo[]): RolloutDeviceInfo[] {
  const chosen = new Map<string, RolloutDeviceInfo>();
  for (const d of [...devices].sort(onlineFirst)) {
    const key = hardwareClassKey(d.hardware);
    if (!chosen.has(key)) chosen.set(key, d);
  }
  return [...chosen.values()].sort(byId);
}

/**
 * The wave for a device that joined the target after creation (targets are not frozen): a
 * selector wave not yet finished that it matches; else the canary wave, not yet finished, when
 * its hardware class is not covered yet; else the first unfinished count/percent wave (the
 * current one if it is still running); else the last wave, whose stragglers get the release
 * directly. `coveredClasses` are the hardware classes already in the canary wave.
 */
export function placeLateJoiner(
  spec: RolloutSpec,
  status: Pick<RolloutStatus, 'waves'>,
  device: RolloutDeviceInfo,
  coveredClasses: ReadonlySet<string>,
): number {
  const unfinished = (i: number): boolean => {
    const state = status.waves[i]?.state;
    return state === 'pending' || state === 'active';
  };
  const candidates = spec.waves.map((w, i) => ({ w, i })).filter(({ w, i }) => w.gate === undefined && unfinished(i));
  const bySelector = candidates.find(({ w }) => w.selector !== undefined && selectorMatches(device.labels, w.selector));
  if (bySelector) return bySelector.i;
  const canary = candidates.find(({ w }) => w.canary !== undefined);
  if (canary && !coveredClasses.has(hardwareClassKey(device.hardware))) return canary.i;
  const general = candidates.find(({ w }) => w.count !== undefined || w.percent !== undefined);
  if (general) return general.i;
  return spec.waves.length - 1;
}
