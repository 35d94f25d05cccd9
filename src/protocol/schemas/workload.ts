import * as z from 'zod';
import { labelsSchema, nameSchema } from './common.js';
import {
  deviceAffinitySchema,
  labelSelectorSchema,
  tolerationSchema,
  topologySpreadSchema,
} from './placement.js';
import { templateManifestSchema, templateSchema } from './template.js';

export const API_VERSION = 'edgepilot.io/v1';

export const metadataSchema = z.strictObject({
  name: nameSchema,
  labels: labelsSchema.default({}),
  annotations: z.record(z.string().max(253), z.string().max(4096)).default({}),
});

export const autoscaleSchema = z
  .strictObject({
    min: z.number().int().min(0),
    max: z.number().int().min(1).max(10_000),
    targetCPUPercent: z.number().int().min(1).max(1000).optional(),
    metric: z.strictObject({ name: z.string().regex(/^[a-z][a-z0-9_.]{0,62}$/), targetAverage: z.number().positive() }).optional(),
    /** Scale-down waits until the recommendation has been lower for this long (HPA's stabilization window). */
    stabilizationSeconds: z.number().int().min(0).default(300),
  })
  .refine((a) => a.min <= a.max, { message: 'min must not exceed max' })
  .refine((a) => (a.targetCPUPercent === undefined) !== (a.metric === undefined), {
    message: 'autoscale needs exactly one of targetCPUPercent, metric',
  });
export type Autoscale = z.infer<typeof autoscaleSchema>;

/** A fleet of 20,000 devices can run a replicas: 20000 workload with one replica each (issue 11). */
export const MAX_REPLICAS = 100_000;

function replicasProblem(value: unknown): string | undefined {
  if (value === 'all') return undefined;
  const hint = `use an integer 0–${MAX_REPLICAS} or "all"`;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return `${value} is not a whole number; ${hint}`;
    if (value < 0 || value > MAX_REPLICAS) return `${value} is out of range; ${hint}`;
    return undefined;
  }
  return `${JSON.stringify(value) ?? String(value)} is not a number of replicas; ${hint}`;
}

/** A count or `all`; one message that says what is accepted (a plain union says "Invalid input"). */
export const replicasSchema = z.custom<number | 'all'>((value) => replicasProblem(value) === undefined, {
  error: (issue) => replicasProblem(issue.input) ?? 'invalid replicas',
});

/** Canonical: what the hub stores and serves. Parsing its own output changes nothing. */
export const workloadSpecSchema = z.strictObject({
  /** A number uses the scheduler; `all` runs one instance on every matching device (like a DaemonSet). */
  replicas: replicasSchema.default('all'),
  selector: labelSelectorSchema.default({ matchLabels: {}, matchExpressions: [] }),
  affinity: deviceAffinitySchema.default({ required: [], preferred: [] }),
  tolerations: z.array(tolerationSchema).max(32).default([]),
  topologySpread: z.array(topologySpreadSchema).max(4).default([]),
  scoring: z.enum(['LeastAllocated', 'MostAllocated']).default('LeastAllocated'),
  /** How long a device may be unreachable before its replicas are placed elsewhere (like tolerationSeconds). */
  offlineGraceSeconds: z.number().int().min(0).default(300),
  autoscale: autoscaleSchema.optional(),
  updateStrategy: z
    .strictObject({
      maxUnavailable: z.number().int().min(0).default(1),
      maxSurge: z.number().int().min(0).default(0),
    })
    .default({ maxUnavailable: 1, maxSurge: 0 }),
  template: templateSchema,
});
export type WorkloadSpec = z.infer<typeof workloadSpecSchema>;

/** As written in a manifest: quantities in Kubernetes notation. Its output is a canonical spec. */
export const workloadSpecManifestSchema = workloadSpecSchema.extend({ template: templateManifestSchema });

/** Checks that span fields; kept outside the object schema so its shape stays extendable. */
export const checkedWorkloadSpecSchema = workloadSpecManifestSchema.refine((spec) => spec.autoscale === undefined || spec.replicas !== 'all', {
  message: 'autoscale needs a number of replicas, not replicas: all',
  path: ['autoscale'],
});

export const workloadManifestSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal('Workload'),
  metadata: metadataSchema,
  spec: checkedWorkloadSpecSchema,
});
export type WorkloadManifest = z.infer<typeof workloadManifestSchema>;
