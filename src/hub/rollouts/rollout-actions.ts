// The rollout step's actions, done by the hub after the transition that produced them was
// written. Each is idempotent (a hub killed half way re-does the whole outbox): pins are set to
// a value, not toggled; a flash is asked only of MCUs not already at the release's version.
import type { Logger } from '../../common/log.js';
import { formatReleaseRef, type ReleaseRef, type RolloutAction, type RolloutState } from '../../protocol/index.js';
import { eventSubjects } from '../store/records.js';
import type { HubStore } from '../store/repository.js';

/** Asks a gateway to flash one MCU with a stored image (the gateway flash RPC). */
export type FirmwareFlasher = (gateway: string, mcu: string, sha256: string) => Promise<void>;

export interface ActionDeps {
  store: HubStore;
  now: () => Date;
  log: Logger;
  replan(): Promise<void>;
  flash?: FirmwareFlasher;
  /** A flash of this release onto this device failed (the gateway kept or restored the old image). */
  flashFailed?(deviceId: string, release: ReleaseRef, message: string): void;
}

export async function performActions(rollout: RolloutState, deps: ActionDeps): Promise<void> {
  let pinsChanged = false;
  const flashes: { deviceIds: readonly string[]; release: ReleaseRef }[] = [];
  for (const action of rollout.status.outbox) {
    pinsChanged = (await perform(rollout, action, deps)) || pinsChanged;
    if (action.type === 'assign-release') flashes.push({ deviceIds: action.deviceIds, release: action.release });
    if (action.type === 'revert' && action.toRelease !== null) flashes.push({ deviceIds: action.deviceIds, release: action.toRelease });
  }
  if (pinsChanged) await deps.replan();
  for (const f of flashes) await flashFirmware(rollout.name, f.deviceIds, f.release, deps);
}

/** Does one action; true when device pins changed (desired documents must be recomputed). */
async function perform(rollout: RolloutState, action: RolloutAction, deps: ActionDeps): Promise<boolean> {
  const { store } = deps;
  const since = deps.now().toISOString();
  switch (action.type) {
    case 'assign-release':
      await store.releasePins.set(action.deviceIds, { release: action.release, rollout: rollout.name, since });
      return true;
    case 'revert':
      await store.releasePins.set(action.deviceIds, action.toRelease === null ? null : { release: action.toRelease, rollout: rollout.name, since });
      return true;
    case 'await-window':
      // Installs wait for the window (the step re-checks at its opening); nothing to send yet.
      return false;
    case 'record-gate-verdict':
      await store.gateVerdicts.put(action.verdict);
      return false;
  }
}

/**
 * The release's firmware onto every MCU of its models that does not already identify with the
 * release's version. Fire and forget per MCU: the device's health (the MCU identifying with the
 * new version) is what the rollout judges, and a failed flash shows up there and in events.
 */
async function flashFirmware(rolloutName: string, deviceIds: readonly string[], ref: ReleaseRef, deps: ActionDeps): Promise<void> {
  const flash = deps.flash;
  if (flash === undefined) return;
  const release = await deps.store.releases.get(ref.name, ref.version);
  if (release === undefined || release.spec.firmware.length === 0) return;
  for (const id of deviceIds) {
    const device = await deps.store.devices.get(id);
    for (const fw of release.spec.firmware) {
      for (const mcu of device?.facts?.mcus ?? []) {
        if (mcu.model !== fw.mcuModel || mcu.firmwareVersion === fw.version) continue;
        const what = `${id}/${mcu.id}: firmware ${fw.version} of ${formatReleaseRef(ref)}`;
        deps.log.info(`rollout ${rolloutName}: flashing ${what}`);
        flash(id, mcu.id, fw.sha256).catch(async (err: unknown) => {
          deps.log.warn(`rollout ${rolloutName}: flash of ${what} failed: ${(err as Error).message}`);
          deps.flashFailed?.(id, ref, `${mcu.id}: ${(err as Error).message}`);
          await deps.store.events.append(eventSubjects.rollout(rolloutName), { time: deps.now().toISOString(), type: 'Warning', reason: 'FlashFailed', message: `${what}: ${(err as Error).message}` });
        });
      }
    }
  }
}
