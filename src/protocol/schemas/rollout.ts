import * as z from 'zod';
import { isoTimeSchema } from './common.js';
import { labelSelectorSchema } from './placement.js';
import { objectNameSchema, releaseRefSchema } from './release.js';
import { API_VERSION, metadataSchema } from './workload.js';

/** A whole number of devices, or a share of the wave written `25%`. */
export const countOrPercentSchema = z.union([
  z.number().int().min(0).max(100_000),
  z.string().regex(/^(100|[1-9]?\d)%$/, 'must be a whole number or a percentage such as 25%'),
]);
export type CountOrPercent = z.infer<typeof countOrPercentSchema>;

/**
 * When a wave has succeeded. Judged once every device of the wave has settled (healthy, failed or
 * deferred): at least `minCount` healthy, and healthy ≥ `minPercent` of the devices that reported
 * (healthy + failed) — the percent only once `minReported` have reported, otherwise the wave is
 * inconclusive and pauses. `minReported: 0` (default) lets a wave whose devices were all
 * deferred pass: offline devices do not block a wave.
 */
export const successThresholdSchema = z.strictObject({
  minCount: z.number().int().min(0).optional(),
  minPercent: z.number().min(0).max(100).default(100),
  minReported: z.number().int().min(0).default(0),
});
export type SuccessThreshold = z.infer<typeof successThresholdSchema>;

/**
 * When a wave has failed, judged after every observation: more than `maxCount` devices failed,
 * or more than `maxPercent` of those that reported — the percent only once `minReported` have.
 * With neither given, one failure fails the wave.
 */
export const failureThresholdSchema = z.strictObject({
  maxCount: z.number().int().min(0).optional(),
  maxPercent: z.number().min(0).max(100).optional(),
  minReported: z.number().int().min(1).default(1),
});
export type FailureThreshold = z.infer<typeof failureThresholdSchema>;

/** What the HIL gate checks on each bench device, on top of the release's workloads being healthy. */
export const gateChecksSchema = z.strictObject({
  /** Every MCU model the release flashes identifies with the release's version. */
  mcuIdentifies: z.boolean().default(true),
  /** Sane telemetry samples needed from each flashed MCU model (0: not checked). */
  telemetrySamples: z.number().int().min(0).max(10_000).default(10),
  /** The release's workloads run and are ready for the soak. */
  workloadsReady: z.boolean().default(true),
});
export type GateChecks = z.infer<typeof gateChecksSchema>;

/**
 * One wave. Which devices: exactly one of `count` (devices), `percent` (of the target not yet
 * taken by earlier waves), `selector` (matching devices not yet taken), `canary:
 * coverHardwareClasses` (one device per distinct hardware class), or `gate: hil` with a
 * `selector` of bench devices (outside the target; wave 0 only). The last wave also takes
 * whatever the earlier waves left. A gate ignores `success`/`failure`: it passes only when at
 * least one bench device is healthy and none failed.
 */
export const waveSpecSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$/, 'must be lowercase letters, digits and -').optional(),
    count: z.number().int().min(0).max(100_000).optional(),
    percent: z.number().int().min(1).max(100).optional(),
    selector: labelSelectorSchema.optional(),
    canary: z.literal('coverHardwareClasses').optional(),
    gate: z.literal('hil').optional(),
    checks: gateChecksSchema.optional(),
    /** At most this many devices of the wave installing at once (their service may be interrupted). */
    maxUnavailable: countOrPercentSchema.default('25%'),
    /**
     * How far the wave may run ahead of proven devices: at most maxUnavailable + maxSurge devices
     * installing or soaking at once. 0: the next device starts only when one is judged.
     */
    maxSurge: countOrPercentSchema.default(0),
    /** A device is healthy after running the release this long with nothing restarting (soak). */
    minHealthySeconds: z.number().int().min(0).max(7 * 86_400).default(60),
    /** A device not healthy this long after its install began has failed. */
    healthyDeadlineSeconds: z.number().int().min(1).max(7 * 86_400).default(600),
    /** The wave fails when for this long no device of it was assigned, judged or first deferred (devices waiting for a window that will open excepted). */
    progressDeadlineSeconds: z.number().int().min(1).max(30 * 86_400).default(1800),
    success: successThresholdSchema.default({ minPercent: 100, minReported: 0 }),
    failure: failureThresholdSchema.default({ minReported: 1 }),
    onSuccess: z.enum(['next', 'pause']).default('next'),
    onFailure: z.enum(['rollback', 'pause']).default('rollback'),
  })
  .superRefine((w, ctx) => {
    const chosen: string[] = (['count', 'percent', 'canary', 'gate'] as const).filter((k) => w[k] !== undefined);
    if (w.gate !== undefined) {
      if (w.selector === undefined) ctx.addIssue({ code: 'custom', path: ['selector'], message: 'a gate wave needs a selector of bench devices (e.g. role=bench)' });
      if (chosen.length > 1) ctx.addIssue({ code: 'custom', path: [chosen[1] ?? 'gate'], message: 'a gate wave takes its bench devices by selector only' });
    } else {
      if (w.selector !== undefined) chosen.push('selector');
      if (chosen.length !== 1) {
        ctx.addIssue({ code: 'custom', path: [], message: 'a wave needs exactly one of count, percent, selector, canary, gate' });
      }
      if (w.checks !== undefined) ctx.addIssue({ code: 'custom', path: ['checks'], message: 'checks belong to a gate wave (gate: hil)' });
    }
    const zero = (v: CountOrPercent): boolean => v === 0 || v === '0%';
    if (zero(w.maxUnavailable)) {
      ctx.addIssue({ code: 'custom', path: ['maxUnavailable'], message: 'must allow at least one device (with 0 no device of the wave could ever install)' });
    }
    if (w.healthyDeadlineSeconds <= w.minHealthySeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['healthyDeadlineSeconds'],
        message: `must exceed minHealthySeconds (${w.minHealthySeconds}), or no device could ever be healthy`,
      });
    }
    if (w.progressDeadlineSeconds < w.healthyDeadlineSeconds) {
      ctx.addIssue({
        code: 'custom',
        path: ['progressDeadlineSeconds'],
        message: `must be at least healthyDeadlineSeconds (${w.healthyDeadlineSeconds}), or the wave could fail before its devices are judged`,
      });
    }
  });
export type WaveSpec = z.infer<typeof waveSpecSchema>;

export const rolloutSpecSchema = z
  .strictObject({
    /** The target: every device matching it, now or later (the target is not frozen at creation). */
    selector: labelSelectorSchema,
    release: releaseRefSchema,
    /** Nothing is installed before this instant. */
    startAt: isoTimeSchema.optional(),
    /** The operator's explicit override of the HIL gate (`--skip-gate --reason`), recorded in history. */
    skipGate: z.strictObject({ reason: z.string().trim().min(3, 'say why the gate is skipped').max(500) }).optional(),
    waves: z.array(waveSpecSchema).min(1, 'a rollout needs at least one wave').max(32),
  })
  .superRefine((spec, ctx) => {
    let canaryAt: number | undefined;
    spec.waves.forEach((w, i) => {
      if (w.gate !== undefined && i !== 0) ctx.addIssue({ code: 'custom', path: ['waves', i, 'gate'], message: 'the gate must be the first wave (wave 0)' });
      if (w.canary !== undefined) {
        if (canaryAt !== undefined) ctx.addIssue({ code: 'custom', path: ['waves', i, 'canary'], message: `waves[${canaryAt}] is already the canary wave` });
        canaryAt ??= i;
      }
      if (w.percent !== undefined && canaryAt === undefined && spec.waves.slice(i + 1).some((later) => later.canary !== undefined)) {
        ctx.addIssue({ code: 'custom', path: ['waves', i, 'percent'], message: 'the canary wave must come before any percent wave' });
      }
    });
    if (spec.waves.length === 1 && spec.waves[0]?.gate !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['waves'], message: 'a gate wave needs at least one wave of the target after it' });
    }
  });
export type RolloutSpec = z.infer<typeof rolloutSpecSchema>;

export const rolloutManifestSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Rollout'),
  metadata: metadataSchema.extend({ name: objectNameSchema }),
  spec: rolloutSpecSchema,
});
export type RolloutManifest = z.infer<typeof rolloutManifestSchema>;
