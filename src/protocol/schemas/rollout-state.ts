import * as z from 'zod';
import { deviceIdSchema, isoTimeSchema } from './common.js';
import { sha256Schema } from './firmware.js';
import { mcuModelSchema, objectNameSchema, releaseDigestSchema, releaseRefSchema } from './release.js';
import { rolloutSpecSchema } from './rollout.js';

/*
 * The rollout as the hub stores it: spec + status, written once per transition. Stored data is
 * canonical: no transforms, and defaults only where parsing stored data yields it unchanged, so
 * re-parsing what was written is a no-op (tested). Times are ISO-8601 UTC strings.
 */

export const rolloutPhaseSchema = z.enum([
  'scheduled', // waiting for spec.startAt
  'progressing',
  'paused', // see status.pause for why and what resumes it
  'completed', // every wave done; deferred devices still get the release when they return
  'rolled-back', // terminal: every touched device was sent back to its previous release
  'aborted', // terminal: stopped; devices keep what they run
]);
export type RolloutPhase = z.infer<typeof rolloutPhaseSchema>;

export const deviceRolloutStateSchema = z.enum([
  'pending', // not yet its turn
  'waiting-window', // its turn, but its maintenance window is closed
  'updating', // release assigned, not yet running it
  'verifying', // running it; soaking for minHealthySeconds
  'healthy',
  'failed',
  'rolled-back',
  'deferred', // offline when its turn came or while updating: not failed, not counted
]);
export type DeviceRolloutState = z.infer<typeof deviceRolloutStateSchema>;

/**
 * What one MCU ran before the rollout touched it (as its gateway identified it), so that a
 * rollback can put that firmware back. `sha256` is the store's image of that model and version
 * when the release was assigned (null: the store had none then; it is looked up again at rollback).
 */
export const previousFirmwareSchema = z.strictObject({
  mcu: z.string().min(1).max(64),
  model: mcuModelSchema,
  version: z.string().min(1).max(32),
  sha256: sha256Schema.nullable(),
});
export type PreviousFirmware = z.infer<typeof previousFirmwareSchema>;

export const rolloutDeviceSchema = z.strictObject({
  /** Index into spec.waves. */
  wave: z.number().int().min(0),
  state: deviceRolloutStateSchema,
  /** When it entered `state`. */
  since: isoTimeSchema,
  /** Why it is in this state, in words (failed: the cause; waiting: what it waits for). */
  reason: z.string().max(500).optional(),
  /** Joined the target after the rollout was created. */
  late: z.literal(true).optional(),
  /** Set once, when the release was assigned: the single assignment per device. */
  assignedAt: isoTimeSchema.optional(),
  /** What it ran before the assignment (null: no release, only the fleet's workloads). */
  previousRelease: releaseRefSchema.nullable().optional(),
  /** Firmware of the MCUs the release flashes, as it was before the assignment (recorded with it). */
  previousFirmware: z.array(previousFirmwareSchema).max(64).optional(),
  /**
   * A flash of the release onto this device failed (the gateway kept or restored the old image),
   * recorded as soon as the hub heard it, so a restarted hub still knows.
   */
  flashFailure: z.string().max(500).optional(),
  /** When the current install attempt began (the assignment, or its return from deferred). */
  updateStartedAt: isoTimeSchema.optional(),
  /**
   * Why a deferred device is deferred, and so what brings it back: `offline` (it returns),
   * `no-window` (a window will open), `incompatible` (its MCU firmware meets the release's constraints).
   */
  deferral: z.enum(['offline', 'no-window', 'incompatible']).optional(),
  /** Waiting for its window, it reported the release's images downloaded (the install is only a start). */
  downloaded: z.literal(true).optional(),
  /** When everything was first seen running and ready in this attempt (the soak's start). */
  verifyingSince: isoTimeSchema.optional(),
});
export type RolloutDevice = z.infer<typeof rolloutDeviceSchema>;

export const waveStateSchema = z.enum(['pending', 'active', 'succeeded', 'failed', 'skipped']);
export type WaveState = z.infer<typeof waveStateSchema>;

export const waveStatusSchema = z.strictObject({
  state: waveStateSchema,
  startedAt: isoTimeSchema.optional(),
  finishedAt: isoTimeSchema.optional(),
  /** Last forward progress (an assignment, a verdict, a first deferral): the progress deadline counts from here. */
  progressAt: isoTimeSchema.optional(),
  reason: z.string().max(500).optional(),
});
export type WaveStatus = z.infer<typeof waveStatusSchema>;

/** A HIL gate result, bound to one exact release by its digest. */
export const gateVerdictSchema = z.strictObject({
  releaseDigest: releaseDigestSchema,
  result: z.enum(['pass', 'fail']),
  at: isoTimeSchema,
  /** The rollout whose gate wave produced it. */
  rollout: objectNameSchema,
  reason: z.string().max(1000),
});
export type GateVerdict = z.infer<typeof gateVerdictSchema>;

export const pauseKindSchema = z.enum([
  'operator', // rollout pause: resume continues
  'promotion', // onSuccess: pause: promote starts the next wave
  'failure', // onFailure: pause: promote continues anyway, undo rolls back, abort stops
  'inconclusive', // too few devices reported to judge the success percent
  'gate', // the next wave needs a gate pass for this release's digest
]);
export type PauseKind = z.infer<typeof pauseKindSchema>;

export const rolloutPauseSchema = z.strictObject({ kind: pauseKindSchema, reason: z.string().max(1000), at: isoTimeSchema });
export type RolloutPause = z.infer<typeof rolloutPauseSchema>;

/** What the hub must do after writing a transition; idempotent, so re-doing them after a crash is harmless. */
export const rolloutActionSchema = z.discriminatedUnion('type', [
  /** Pin these devices to the release (their desired documents change once). */
  z.strictObject({ type: z.literal('assign-release'), deviceIds: z.array(deviceIdSchema).min(1), release: releaseRefSchema }),
  /** Pin these devices back to what they ran before (null: unpin, back to the fleet's workloads). */
  z.strictObject({ type: z.literal('revert'), deviceIds: z.array(deviceIdSchema).min(1), toRelease: releaseRefSchema.nullable() }),
  /** Their turn came while their window is closed: downloads may start now, installs wait. */
  z.strictObject({
    type: z.literal('await-window'),
    deviceIds: z.array(deviceIdSchema).min(1),
    release: releaseRefSchema,
    nextOpen: isoTimeSchema.nullable(),
  }),
  /**
   * Flash the release's firmware again onto these devices' MCUs not yet at it: an assigned device
   * back from offline (a flash sent while it was away never arrived, or failed unheard).
   */
  z.strictObject({ type: z.literal('flash-release-firmware'), deviceIds: z.array(deviceIdSchema).min(1), release: releaseRefSchema }),
  /**
   * Put back the firmware an MCU ran before the rollout (a rollback): flashed even though it is
   * older than what runs now. Skipped when the MCU already identifies with `version`.
   */
  z.strictObject({
    type: z.literal('restore-firmware'),
    deviceId: deviceIdSchema,
    mcu: z.string().min(1).max(64),
    version: z.string().min(1).max(32),
    sha256: sha256Schema,
  }),
  /** Store the gate verdict with the release (keyed by its digest). */
  z.strictObject({ type: z.literal('record-gate-verdict'), verdict: gateVerdictSchema }),
]);
export type RolloutAction = z.infer<typeof rolloutActionSchema>;

export const historyTypeSchema = z.enum([
  'created',
  'started',
  'wave-started',
  'wave-succeeded',
  'wave-failed',
  'wave-skipped',
  'paused',
  'resumed',
  'promoted',
  'gate-passed',
  'gate-failed',
  'gate-skipped',
  'completed',
  'rolled-back',
  'aborted',
]);
export type HistoryType = z.infer<typeof historyTypeSchema>;

export const historyEntrySchema = z.strictObject({
  at: isoTimeSchema,
  type: historyTypeSchema,
  /** Index into spec.waves, where the entry is about a wave. */
  wave: z.number().int().min(0).optional(),
  message: z.string().max(1000),
  /** Who asked, for operator commands (and the reason they gave). */
  actor: z.string().max(128).optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

export const MAX_ROLLOUT_HISTORY = 500;

export const rolloutStatusSchema = z.strictObject({
  /** Transitions written so far: one per durable write. */
  revision: z.number().int().min(0),
  phase: rolloutPhaseSchema,
  /** Index of the wave in progress (or last finished); -1 before the first wave. */
  currentWave: z.number().int().min(-1),
  /** The digest of the release when the rollout was created; gate verdicts must match it. */
  releaseDigest: releaseDigestSchema,
  waves: z.array(waveStatusSchema),
  devices: z.record(deviceIdSchema, rolloutDeviceSchema),
  pause: rolloutPauseSchema.nullable(),
  gate: gateVerdictSchema.nullable(),
  gateOverride: z.strictObject({ reason: z.string().max(500), at: isoTimeSchema, actor: z.string().max(128).optional() }).nullable(),
  history: z.array(historyEntrySchema).max(MAX_ROLLOUT_HISTORY),
  /** The actions of the last transition, re-done by a hub that restarts (they are idempotent). */
  outbox: z.array(rolloutActionSchema),
});
export type RolloutStatus = z.infer<typeof rolloutStatusSchema>;

export const rolloutStateSchema = z
  .strictObject({
    name: objectNameSchema,
    createdAt: isoTimeSchema,
    spec: rolloutSpecSchema,
    status: rolloutStatusSchema,
  })
  .superRefine((state, ctx) => {
    // Indexes into spec.waves must point at a wave: a stored state that breaks this was not written by step.
    const n = state.spec.waves.length;
    if (state.status.waves.length !== n) {
      ctx.addIssue({ code: 'custom', path: ['status', 'waves'], message: `${state.status.waves.length} wave statuses for ${n} waves` });
    }
    if (state.status.currentWave >= n) ctx.addIssue({ code: 'custom', path: ['status', 'currentWave'], message: `no wave ${state.status.currentWave}` });
    for (const [id, d] of Object.entries(state.status.devices)) {
      if (d.wave >= n) ctx.addIssue({ code: 'custom', path: ['status', 'devices', id, 'wave'], message: `no wave ${d.wave}` });
    }
  });
export type RolloutState = z.infer<typeof rolloutStateSchema>;

/** Operator commands: `rollout pause|resume|promote|abort|undo`. */
export const rolloutCommandSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('pause'), reason: z.string().max(500).optional(), actor: z.string().max(128).optional() }),
  z.strictObject({ type: z.literal('resume'), actor: z.string().max(128).optional() }),
  z.strictObject({
    type: z.literal('promote'),
    skipGate: z.strictObject({ reason: z.string().trim().min(3, 'say why the gate is skipped').max(500) }).optional(),
    actor: z.string().max(128).optional(),
  }),
  z.strictObject({ type: z.literal('abort'), reason: z.string().max(500).optional(), actor: z.string().max(128).optional() }),
  z.strictObject({ type: z.literal('undo'), reason: z.string().max(500).optional(), actor: z.string().max(128).optional() }),
]);
export type RolloutCommand = z.infer<typeof rolloutCommandSchema>;
