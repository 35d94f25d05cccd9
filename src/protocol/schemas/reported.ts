import * as z from 'zod';
import { isoTimeSchema } from './common.js';

export const instancePhaseSchema = z.enum([
  'pending',
  'pulling',
  'starting',
  'running',
  'crash-loop',
  'failed',
  'succeeded',
  'stopping',
]);
export type InstancePhase = z.infer<typeof instancePhaseSchema>;

export const reportedInstanceSchema = z.strictObject({
  id: z.string().max(128),
  workload: z.string().max(63),
  revision: z.string().max(64),
  /** The ConfigMap/Secret versions (desired configRevision) the running instance started with. */
  configRevision: z.string().regex(/^[a-f0-9]{16}$/).optional(),
  runtime: z.enum(['container', 'process']),
  phase: instancePhaseSchema,
  ready: z.boolean(),
  restarts: z.number().int().nonnegative(),
  startedAt: isoTimeSchema.optional(),
  lastExitCode: z.number().int().optional(),
  lastError: z.string().max(2000).optional(),
  /** When a crash-looping instance will be started again. */
  nextRestartAt: isoTimeSchema.optional(),
  /** Last lines of output after a crash, so `describe` can say why without a logs round trip. */
  lastLogLines: z.array(z.string().max(500)).max(20).optional(),
  containerId: z.string().max(128).optional(),
  pid: z.number().int().positive().optional(),
});
export type ReportedInstance = z.infer<typeof reportedInstanceSchema>;

/** One download ahead of an install: `downloaded` (the install can start at once) or `failed`. */
export const prefetchReportSchema = z.strictObject({
  id: z.string().max(128),
  revision: z.string().max(64),
  state: z.enum(['downloaded', 'failed']),
  error: z.string().max(500).optional(),
});
export type PrefetchReport = z.infer<typeof prefetchReportSchema>;

/** Retained on `ep/v1/d/<id>/reported`: what the device observed after applying `observedGeneration`. */
export const reportedStateSchema = z.strictObject({
  observedGeneration: z.number().int().nonnegative(),
  time: isoTimeSchema,
  instances: z.array(reportedInstanceSchema).max(256),
  /** Downloads done ahead of an install (desired `prefetch`, or an install held for a window). */
  prefetched: z.array(prefetchReportSchema).max(256).optional(),
  /**
   * Orders one device's reports whatever its wall clock does (`time` moves with clock steps): the
   * kernel's boot id and CLOCK_MONOTONIC when it was sent. Hubs sharing a store keep the newer of
   * two reports by it: a hub writing a report it held through a store outage must not overwrite the
   * one the device has since sent through another hub. Reports of different boots are not ordered.
   */
  order: z.strictObject({ boot: z.string().min(1).max(64), monotonicMs: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER) }).optional(),
});
export type ReportedState = z.infer<typeof reportedStateSchema>;

/** Whether `stored` was sent after `incoming` by the same boot of the device (so `incoming` is stale). */
export function reportIsNewer(stored: Pick<ReportedState, 'order'>, incoming: Pick<ReportedState, 'order'>): boolean {
  const a = stored.order;
  const b = incoming.order;
  return a !== undefined && b !== undefined && a.boot === b.boot && a.monotonicMs > b.monotonicMs;
}
