// The health of one device during a rollout, defined rather than guessed: every workload of the
// release that this device should run (placement puts it there) runs the release's template and
// is ready, with no restart since the update began; every MCU of a model the release flashes
// that this device has identifies with the new version; all of it for minHealthySeconds.
// Offline is not a verdict on the release: such a device is deferred, never failed.
import type { GateChecks } from '../../protocol/index.js';
import type { DeviceObservation, ReleaseContent } from './types.js';

export type HealthVerdict =
  | { readonly kind: 'offline' }
  | { readonly kind: 'failed'; readonly reason: string }
  /** Not everything runs the release yet; `reason` says what is awaited. */
  | { readonly kind: 'installing'; readonly reason: string; readonly deadlineAt: number }
  /** Everything runs the release and is ready; healthy at `healthyAt` if it stays so. */
  | { readonly kind: 'soaking'; readonly healthyAt: number; readonly deadlineAt: number }
  | { readonly kind: 'healthy' };

export interface HealthInput {
  readonly device: DeviceObservation | undefined;
  readonly release: ReleaseContent;
  readonly minHealthySeconds: number;
  readonly healthyDeadlineSeconds: number;
  /** When this install attempt began (epoch ms). */
  readonly updateStartedAt: number;
  /** When everything was first seen ready in this attempt (epoch ms), if it was. */
  readonly verifyingSince: number | undefined;
  /** The HIL gate's checks, for bench devices of a gate wave. */
  readonly gate?: GateChecks;
  readonly now: number;
}

type Check = { readonly ok: true } | { readonly ok: false; readonly failed: boolean; readonly reason: string };
const ok: Check = { ok: true };
const waiting = (reason: string): Check => ({ ok: false, failed: false, reason });
const failed = (reason: string): Check => ({ ok: false, failed: true, reason });

export function deviceHealth(input: HealthInput): HealthVerdict {
  const { device, now } = input;
  if (device === undefined || !device.online) return { kind: 'offline' };
  const deadlineAt = input.updateStartedAt + input.healthyDeadlineSeconds * 1000;
  const check = releaseCheck(device, input.release, input.gate);
  if (!check.ok && check.failed) return { kind: 'failed', reason: check.reason };
  if (check.ok) {
    const healthyAt = (input.verifyingSince ?? now) + input.minHealthySeconds * 1000;
    // A soak that ended before the deadline counts even if we look only after the deadline.
    if (now >= healthyAt && healthyAt <= deadlineAt) return { kind: 'healthy' };
    if (now < deadlineAt) return { kind: 'soaking', healthyAt, deadlineAt };
    return { kind: 'failed', reason: `not healthy within healthyDeadlineSeconds (${input.healthyDeadlineSeconds}s): still soaking` };
  }
  if (now >= deadlineAt) {
    return { kind: 'failed', reason: `not healthy within healthyDeadlineSeconds (${input.healthyDeadlineSeconds}s): ${check.reason}` };
  }
  return { kind: 'installing', reason: check.reason, deadlineAt };
}

/** The first thing that keeps the device from being healthy now (failures before waits). */
function releaseCheck(device: DeviceObservation, release: ReleaseContent, gate: GateChecks | undefined): Check {
  if (device.flashFailure !== undefined) return failed(`firmware flash failed: ${device.flashFailure}`);
  const checks: Check[] = [];
  if (gate === undefined || gate.workloadsReady) {
    // A bench device that placement gives none of a workload proves nothing about it (as with
    // a missing MCU): the gate fails rather than pass unchecked.
    const missing = gate === undefined ? [] : release.workloads.filter((name) => !device.placedWorkloads.includes(name));
    if (missing.length > 0) return failed(`bench device runs no instance of ${missing.join(', ')} (placement does not put it here), so the gate cannot check it`);
    checks.push(...expectedWorkloads(device, release).map((name) => workloadCheck(device, name)));
  }
  if (gate === undefined || gate.mcuIdentifies) checks.push(...release.firmware.map((fw) => firmwareCheck(device, fw, gate)));
  const failure = checks.find((c) => !c.ok && c.failed);
  if (failure) return failure;
  if (!device.applied) return waiting('waiting for the device to apply the release');
  return checks.find((c) => !c.ok) ?? ok;
}

/** The release's workloads this device should run: those placement puts on it. */
export function expectedWorkloads(device: DeviceObservation, release: ReleaseContent): string[] {
  const placed = new Set(device.placedWorkloads);
  return release.workloads.filter((name) => placed.has(name));
}

function workloadCheck(device: DeviceObservation, name: string): Check {
  const w = device.workloads.find((x) => x.name === name && x.onRelease);
  if (w === undefined) return waiting(`waiting for workload ${name} to run the release's template`);
  if (w.phase === 'crash-loop') return failed(`workload ${name} is crash-looping`);
  if (w.phase === 'failed') return failed(`workload ${name} failed`);
  if (w.restarts > 0) return failed(`workload ${name} restarted ${w.restarts} time(s) since the update`);
  if (w.phase !== 'running' || !w.ready) return waiting(`waiting for workload ${name} to be running and ready (now ${w.phase}${w.ready ? '' : ', not ready'})`);
  return ok;
}

function firmwareCheck(device: DeviceObservation, fw: ReleaseContent['firmware'][number], gate: GateChecks | undefined): Check {
  const mcus = device.mcus.filter((m) => m.model === fw.mcuModel);
  // A fleet device without this MCU has nothing to flash; a bench device without it proves nothing.
  if (mcus.length === 0) return gate ? failed(`bench device has no ${fw.mcuModel} MCU to check firmware ${fw.version} on`) : ok;
  for (const m of mcus) {
    if (!m.online) return waiting(`waiting for MCU ${m.id} to answer`);
    if (m.version !== fw.version) return waiting(`MCU ${m.id} identifies as ${m.version}, waiting for ${fw.version}`);
    const need = gate?.telemetrySamples ?? 0;
    const have = m.saneTelemetrySamples ?? 0;
    if (have < need) return waiting(`MCU ${m.id}: ${have} of ${need} sane telemetry samples`);
  }
  return ok;
}
