/*
 * Rollouts: pure decisions for the hub's rollout controller (ARCHITECTURE.md, "Changing a fleet").
 *
 * Why one transition per step. `step(rollout, observations, now)` returns at most one transition
 * (start, membership, observe, judge, assign, or an operator command), the whole next state, and
 * the actions it implies. The hub writes that state durably, then does the actions, and calls
 * step again until it returns no transition. Each write is therefore one decision, and a hub
 * killed at any instant resumes from the last written state: a transition that was not written
 * is simply decided again (step is deterministic: same state, observations and now → same
 * result), and one that was written has its actions in `status.outbox`, which a restarting hub
 * re-does — they are idempotent (pin device X to release R). A device's assignment is recorded
 * (`assignedAt`) in the same write as the action that assigns it, and only pending devices are
 * ever assigned, so no device is updated twice and none is skipped.
 *
 * How rollback cannot loop. A rollback is one transition: every device the rollout assigned
 * gets a `revert` to the release it ran before (kept per device at assignment), and the rollout
 * becomes `rolled-back`, which is terminal: no wave, gate, threshold or command applies to it, so
 * nothing can roll it "forward" again or judge the revert (no canary phase on the way back).
 *
 * How the HIL gate verdict is keyed. The gate wave's verdict is bound to the release's digest
 * (sha256 over its canonical content, `releaseDigest` in the protocol), stored in the rollout and
 * emitted as `record-gate-verdict` for the hub to keep with the release. A later wave starts only
 * with a pass for exactly that digest (a changed release cannot ride an old pass), or with an
 * explicit override `{skipGate: {reason}}`, recorded in the rollout's history. A rollout of a
 * release whose digest already has a pass skips its gate wave and says so.
 *
 * Windows are an input (`WindowLookup`): the window maths live in src/protocol/schedule.
 */
export type { HardwareClass, RolloutDeviceInfo, DeviceObservation, ObservedWorkload, ObservedMcu, WindowVerdict, WindowLookup, ReleaseContent, FirmwareImageLookup } from './types.js';
export { alwaysOpen, releaseContent, noFirmwareImages } from './types.js';
export { previousFirmware, recordFlashFailure } from './firmware-restore.js';
export type { WavePlan } from './plan-waves.js';
export { planWaves, placeLateJoiner, hardwareClassKey, canaryDevices, benchDevices, inTarget } from './plan-waves.js';
export type { HealthVerdict, HealthInput } from './device-health.js';
export { deviceHealth, expectedWorkloads } from './device-health.js';
export type { WaveCounts, WaveJudgement } from './thresholds.js';
export { waveCounts, judgeWave, judgeGate, resolveCountOrPercent } from './thresholds.js';
export type { StepInput, StepResult } from './transition.js';
export { step, step as stepRollout, nextCheckAt } from './rollout-step.js';
export { DeviceIndex, deviceIndex, deviceIndexStats, idsInState, shareDeviceIndex } from './device-index.js';
export type { CreateRolloutInput } from './create.js';
export { createRollout } from './create.js';
export { compatibilityProblems } from './compatibility.js';
export type { OwnershipConflict } from './ownership.js';
export { ownedDevices, ownershipConflicts, ownershipRefusal } from './ownership.js';
