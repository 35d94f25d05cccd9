import * as z from 'zod';
import { isoTimeSchema } from './common.js';

const customMetricsSchema = z.record(z.string().regex(/^[a-z][a-z0-9_.]{0,62}$/), z.number());

/** Usage samples for `top` and the autoscaler; not retained, lost samples are fine. */
export const metricsSchema = z.strictObject({
  time: isoTimeSchema,
  device: z.strictObject({
    cpuPercent: z.number().min(0).max(100_000),
    memoryUsedBytes: z.number().int().nonnegative(),
    temperatureC: z.number().nullable().optional(),
  }),
  instances: z
    .array(
      z.strictObject({
        id: z.string().max(128),
        workload: z.string().max(63),
        cpuPercent: z.number().min(0).max(100_000),
        memoryBytes: z.number().int().nonnegative(),
        custom: customMetricsSchema.default({}),
      }),
    )
    .max(256),
});
export type MetricsSample = z.infer<typeof metricsSchema>;
