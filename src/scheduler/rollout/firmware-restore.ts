// Firmware on the way back. A release flashes MCUs; undoing it must put back what each MCU ran
// before, also when the device had no release before (then the hub knows that firmware only from
// what the gateway identified). So the assignment records, per MCU the release flashes, the model,
// version and (when the store holds it) the image's sha256; the rollback re-flashes that image
// when the store has it, and otherwise says, on the device and in an event, exactly which
// firmware could not be restored and what the MCU is left at: a definite state, never silent.
import type { PreviousFirmware, RolloutDevice, RolloutState } from '../../protocol/index.js';
import type { Draft } from './transition.js';
import type { DeviceObservation, FirmwareImageLookup, ReleaseContent } from './types.js';

/** What the MCUs the release flashes run now (recorded with the assignment); undefined: none. */
export function previousFirmware(release: ReleaseContent, device: DeviceObservation, images: FirmwareImageLookup): PreviousFirmware[] | undefined {
  const flashed = new Set(release.firmware.map((f) => f.mcuModel));
  const mcus = device.mcus.filter((m) => flashed.has(m.model) && m.version !== '');
  if (mcus.length === 0) return undefined;
  return mcus.map((m) => ({ mcu: m.id, model: m.model, version: m.version, sha256: images.find(m.model, m.version) }));
}

const short = (sha: string): string => `${sha.slice(0, 12)}…`;

/**
 * The restore actions for devices being rolled back, added to the draft; returns, per device,
 * what could not be restored (a sentence), for its state's reason.
 */
export function restoreFirmware(draft: Draft, ids: readonly string[]): Map<string, string> {
  const images = draft.input.firmwareImages;
  const notRestored = new Map<string, string>();
  for (const id of ids) {
    const d = draft.status.devices[id] as RolloutDevice;
    const o = draft.observed.get(id);
    const missing: string[] = [];
    for (const p of d.previousFirmware ?? []) {
      const now = o?.mcus.find((m) => m.id === p.mcu)?.version;
      if (now === p.version) continue; // never flashed, or the gateway put it back itself
      const sha = p.sha256 !== null && images?.has(p.sha256) === true ? p.sha256 : (images?.find(p.model, p.version) ?? null);
      if (sha !== null) {
        draft.actions.push({ type: 'restore-firmware', deviceId: id, mcu: p.mcu, version: p.version, sha256: sha });
        continue;
      }
      const which = p.sha256 === null ? 'sha256 unknown' : `sha256 ${short(p.sha256)}`;
      missing.push(`previous firmware ${p.version} of ${p.mcu} (${p.model}, ${which}) is not in the firmware store; MCU left at ${now ?? 'what it runs'}`);
    }
    if (missing.length > 0) {
      const sentence = missing.join('; ');
      notRestored.set(id, sentence);
      draft.event('Warning', 'FirmwareNotRestored', `${id}: ${sentence}; push that image and flash it to restore it`);
    }
  }
  return notRestored;
}

/**
 * Records that a flash for this rollout failed on a device, as one transition of its own (written
 * at once, so a hub restarted before the next pass still knows). A device being updated carries
 * it into its health verdict (failed); a rolled-back device's reason says its firmware was not
 * restored. Returns null when there is nothing to record.
 */
export function recordFlashFailure(
  rollout: RolloutState,
  deviceId: string,
  message: string,
  restoring: boolean,
): { next: RolloutState; event: { type: 'Warning'; reason: string; message: string } } | null {
  const d = rollout.status.devices[deviceId];
  if (d === undefined) return null;
  const text = message.slice(0, 400);
  let patch: Partial<RolloutDevice>;
  if (restoring) {
    if (d.state !== 'rolled-back') return null;
    patch = { reason: `${d.reason ?? 'rolled back'}; restoring firmware failed: ${text}`.slice(0, 500) };
  } else {
    if (d.flashFailure !== undefined || (d.state !== 'updating' && d.state !== 'verifying')) return null;
    patch = { flashFailure: text };
  }
  const next: RolloutState = {
    ...rollout,
    status: { ...rollout.status, revision: rollout.status.revision + 1, devices: { ...rollout.status.devices, [deviceId]: { ...d, ...patch } } },
  };
  return {
    next,
    event: { type: 'Warning', reason: restoring ? 'FirmwareRestoreFailed' : 'FlashFailed', message: `${deviceId}: ${restoring ? 'restoring the previous firmware' : 'flashing the release'} failed: ${text}` },
  };
}
