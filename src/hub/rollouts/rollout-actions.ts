// The rollout step's actions, done by the hub after the transition that produced them was
// written. Each is idempotent (a hub killed half way re-does the whole outbox): pins are set to
// a value, not toggled; a flash is asked only of MCUs not already at the release's version.
import type { Logger } from '../../common/log.js';
import { formatReleaseRef, type ReleaseRef, type RolloutAction, type RolloutState } from '../../protocol/index.js';
import { eventSubjects } from '../store/records.js';
import type { HubStore } from '../store/repository.js';
import { errorMessage } from '../../common/errors.js';

/**
 * Asks a gateway to flash one MCU with a stored image (the gateway flash RPC). `force` lets an
 * older version go on (a rollback restores what ran before, usually older than what runs now).
 */
export type FirmwareFlasher = (gateway: string, mcu: string, sha256: string, options?: { force?: boolean }) => Promise<void>;

export interface ActionDeps {
  store: HubStore;
  now: () => Date;
  log: Logger;
  /** Recompute and publish the desired documents of these devices (their pins or downloads changed). */
  replan(deviceIds: readonly string[]): Promise<void>;
  flash?: FirmwareFlasher;
  /**
   * A flash for this rollout failed on this device (the gateway kept or restored the old image):
   * the release's firmware, or (`restoring`) the firmware a rollback puts back.
   */
  flashFailed?(deviceId: string, message: string, restoring: boolean): void;
}

export async function performActions(rollout: RolloutState, deps: ActionDeps): Promise<void> {
  // Only the devices whose pins changed get new documents: a wave's cost follows its devices.
  const replan = new Set<string>();
  const flashes: { deviceIds: readonly string[]; release: ReleaseRef }[] = [];
  for (const action of rollout.status.outbox) {
    if ((await perform(rollout, action, deps)) && 'deviceIds' in action) for (const id of action.deviceIds) replan.add(id);
    if (action.type === 'assign-release' || action.type === 'flash-release-firmware') flashes.push({ deviceIds: action.deviceIds, release: action.release });
  }
  if (replan.size > 0) await deps.replan([...replan]);
  for (const f of flashes) await flashFirmware(rollout.name, f.deviceIds, f.release, deps);
  // A revert's firmware is what each MCU ran before the rollout (recorded at assignment), not
  // the previous release's: restore-firmware actions carry exactly that image.
  for (const action of rollout.status.outbox) if (action.type === 'restore-firmware') await restore(rollout.name, action, deps);
}

/** Does one action; true when the desired documents of its devices must be recomputed (pins, downloads ahead). */
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
      // Installs wait for the window (the step re-checks at its opening); downloads need not:
      // the desired documents of waiting devices list the release's revisions to prefetch.
      return true;
    case 'record-gate-verdict':
      await store.gateVerdicts.put(action.verdict);
      return false;
    case 'restore-firmware':
    case 'flash-release-firmware':
      return false; // flashes come after the pins (below)
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
          deps.log.warn(`rollout ${rolloutName}: flash of ${what} failed: ${errorMessage(err)}`);
          // Recorded with the rollout (durably, with its event): the device's health fails on it.
          deps.flashFailed?.(id, `${mcu.id}: ${errorMessage(err)}`, false);
        });
      }
    }
  }
}

/** Flashes back the firmware an MCU ran before (forced: it is usually older). Fire and forget, like a release's flash. */
async function restore(rolloutName: string, action: Extract<RolloutAction, { type: 'restore-firmware' }>, deps: ActionDeps): Promise<void> {
  const flash = deps.flash;
  const { deviceId, mcu, version, sha256 } = action;
  const subject = eventSubjects.rollout(rolloutName);
  const what = `${deviceId}/${mcu}: previous firmware ${version} (sha256 ${sha256.slice(0, 12)}…)`;
  const event = (type: 'Normal' | 'Warning', reason: string, message: string) => deps.store.events.append(subject, { time: deps.now().toISOString(), type, reason, message });
  if (flash === undefined) {
    deps.flashFailed?.(deviceId, `${mcu}: this hub cannot flash (no gateway RPC); left as it is`, true);
    return;
  }
  const isBack = async (): Promise<boolean> => (await deps.store.devices.get(deviceId))?.facts?.mcus.find((m) => m.id === mcu)?.firmwareVersion === version;
  if (await isBack()) return; // already back (idempotent)
  deps.log.info(`rollout ${rolloutName}: restoring ${what}`);
  await event('Normal', 'FirmwareRestoring', `restoring ${what}`);
  // Each attempt first looks whether the last one got there after all (an answer lost in a timeout).
  retried(async () => ((await isBack()) ? undefined : flash(deviceId, mcu, sha256, { force: true })), RESTORE_ATTEMPTS, RESTORE_RETRY_MS, (err, left) =>
    deps.log.warn(`rollout ${rolloutName}: restoring ${what}: ${errorMessage(err)}; ${left} more attempt(s)`),
  )
    .then(
      () => event('Normal', 'FirmwareRestored', `restored ${what}`),
      (err: unknown) => {
        deps.log.warn(`rollout ${rolloutName}: restoring ${what} failed: ${errorMessage(err)}`);
        deps.flashFailed?.(deviceId, `${mcu}: ${errorMessage(err)}`, true);
      },
    )
    .catch((err: unknown) => deps.log.warn(`rollout ${rolloutName}: event for ${what}: ${errorMessage(err)}`));
}

/**
 * A rollback is not judged again, so a restore must not give up on a passing cause (the MCU
 * rebooting after its last flash, a busy gateway): a few attempts before the failure is recorded.
 */
const RESTORE_ATTEMPTS = 3;
const RESTORE_RETRY_MS = 3000;

async function retried(fn: () => Promise<void>, attempts: number, delayMs: number, onRetry: (err: unknown, left: number) => void): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      onRetry(err, attempts - i);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}
