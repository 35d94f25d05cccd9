import * as z from 'zod';
import { isoTimeSchema, labelsSchema } from './common.js';
import { maintenanceWindowSchema } from '../schedule/maintenance-window.js';
import {
  objectNameSchema,
  releaseDigestSchema,
  releaseFirmwareSchema,
  releaseRefSchema,
  releaseSpecSchema,
} from './release.js';
import { deviceRolloutStateSchema, gateVerdictSchema, historyEntrySchema, rolloutPauseSchema, rolloutPhaseSchema, waveStateSchema } from './rollout-state.js';
import { rolloutSpecSchema } from './rollout.js';
import { API_VERSION, metadataSchema } from './workload.js';

/*
 * Releases, rollouts and maintenance windows as the hub stores and serves them. The CLI reads
 * these shapes only (it never sees the scheduler); the hub builds them from its store.
 */

/** A release as stored: immutable once created; `digest` binds gate verdicts to exactly this content. */
export const releaseRecordSchema = z.strictObject({
  name: objectNameSchema,
  labels: labelsSchema,
  annotations: z.record(z.string().max(253), z.string().max(4096)),
  spec: releaseSpecSchema,
  digest: releaseDigestSchema,
  createdAt: isoTimeSchema,
});
export type ReleaseRecord = z.infer<typeof releaseRecordSchema>;

/** The store key of a release: `name@version`. */
export const releaseKey = (name: string, version: string): string => `${name}@${version}`;

/**
 * `kind: MaintenanceWindow`: windows are objects of their own, attached to devices by selector
 * (typically a site), not fields of a rollout. A site's window holds for every rollout that
 * reaches it, and for a device that lost the hub (the agent gets the windows that apply to it in
 * its desired document).
 */
export const maintenanceWindowManifestSchema = z
  .strictObject({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal('MaintenanceWindow'),
    metadata: metadataSchema,
    spec: z.record(z.string(), z.unknown()),
  })
  .transform((m, ctx) => {
    const parsed = maintenanceWindowSchema.safeParse({ ...m.spec, name: m.metadata.name });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: ['spec', ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))], message: issue.message });
      return z.NEVER;
    }
    return { ...m, spec: parsed.data };
  });
export type MaintenanceWindowManifest = z.infer<typeof maintenanceWindowManifestSchema>;

export const maintenanceWindowRecordSchema = z.strictObject({
  name: objectNameSchema,
  labels: labelsSchema,
  spec: maintenanceWindowSchema,
  createdAt: isoTimeSchema,
  updatedAt: isoTimeSchema,
});
export type MaintenanceWindowRecord = z.infer<typeof maintenanceWindowRecordSchema>;

/** Which release a device is pinned to by a rollout (its workloads' templates come from it). */
export const releasePinSchema = z.strictObject({
  release: releaseRefSchema,
  /** The rollout that pinned it, and when. */
  rollout: objectNameSchema,
  since: isoTimeSchema,
});
export type ReleasePin = z.infer<typeof releasePinSchema>;

// ── API views ──────────────────────────────────────────────────────────────────────────────

export const releaseViewSchema = z.object({
  name: z.string(),
  version: z.string(),
  digest: z.string(),
  createdAt: z.string(),
  workloads: z.array(z.string()),
  firmware: z.array(releaseFirmwareSchema),
  /** The stored HIL gate verdict for this digest, if any. */
  gate: gateVerdictSchema.nullable(),
  /** Devices pinned to this release now. */
  devices: z.number().int(),
  spec: releaseSpecSchema.optional(),
});
export type ReleaseView = z.infer<typeof releaseViewSchema>;

export const waveCountsViewSchema = z.object({
  total: z.number().int(),
  pending: z.number().int(),
  waitingWindow: z.number().int(),
  updating: z.number().int(),
  verifying: z.number().int(),
  healthy: z.number().int(),
  failed: z.number().int(),
  deferred: z.number().int(),
  rolledBack: z.number().int(),
});
export type WaveCountsView = z.infer<typeof waveCountsViewSchema>;

export const rolloutViewSchema = z.object({
  name: z.string(),
  release: releaseRefSchema,
  phase: rolloutPhaseSchema,
  currentWave: z.number().int(),
  createdAt: z.string(),
  revision: z.number().int(),
  pause: rolloutPauseSchema.nullable(),
  waves: z.array(z.object({ index: z.number().int(), name: z.string(), state: waveStateSchema, reason: z.string().optional(), counts: waveCountsViewSchema })),
  devices: z.array(z.object({ id: z.string(), wave: z.number().int(), state: deviceRolloutStateSchema, since: z.string(), reason: z.string().optional() })),
  history: z.array(historyEntrySchema),
  spec: rolloutSpecSchema.optional(),
});
export type RolloutView = z.infer<typeof rolloutViewSchema>;

export const rolloutCommandNames = ['pause', 'resume', 'promote', 'abort', 'undo'] as const;

/** `GET /v1/devices/<id>/release`: which release a device runs and where it is in a rollout. */
export const deviceReleaseViewSchema = z.object({
  release: releaseRefSchema.nullable(),
  /** The rollout that pinned it (or owns it now), and the device's state there. */
  rollout: z.object({ name: z.string(), phase: rolloutPhaseSchema, wave: z.number().int(), state: deviceRolloutStateSchema, reason: z.string().optional() }).nullable(),
});
export type DeviceReleaseView = z.infer<typeof deviceReleaseViewSchema>;
