import * as z from 'zod';
import { labelKeySchema, labelValueSchema } from './common.js';

/** Label selectors and affinity, as in Kubernetes (core/v1 NodeSelectorRequirement). */
export const selectorOperatorSchema = z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist', 'Gt', 'Lt']);
export type SelectorOperator = z.infer<typeof selectorOperatorSchema>;

export const selectorRequirementSchema = z
  .strictObject({
    key: labelKeySchema,
    operator: selectorOperatorSchema,
    values: z.array(z.string().max(63)).max(64).default([]),
  })
  .superRefine((req, ctx) => {
    const n = req.values.length;
    if ((req.operator === 'In' || req.operator === 'NotIn') && n === 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `${req.operator} needs at least one value` });
    }
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && n !== 0) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `${req.operator} takes no values` });
    }
    if ((req.operator === 'Gt' || req.operator === 'Lt') && (n !== 1 || !/^-?\d+$/.test(req.values[0] ?? ''))) {
      ctx.addIssue({ code: 'custom', path: ['values'], message: `${req.operator} takes exactly one integer value` });
    }
  });
export type SelectorRequirement = z.infer<typeof selectorRequirementSchema>;

export const labelSelectorSchema = z.strictObject({
  matchLabels: z.record(labelKeySchema, labelValueSchema).default({}),
  matchExpressions: z.array(selectorRequirementSchema).max(32).default([]),
});
export type LabelSelector = z.infer<typeof labelSelectorSchema>;

/** A term matches when all its requirements do; terms are ORed (Kubernetes nodeSelectorTerms). */
export const selectorTermSchema = z.strictObject({ matchExpressions: z.array(selectorRequirementSchema).min(1).max(32) });
export type SelectorTerm = z.infer<typeof selectorTermSchema>;

export const deviceAffinitySchema = z.strictObject({
  required: z.array(selectorTermSchema).max(16).default([]),
  preferred: z
    .array(z.strictObject({ weight: z.number().int().min(1).max(100), preference: selectorTermSchema }))
    .max(16)
    .default([]),
});
export type DeviceAffinity = z.infer<typeof deviceAffinitySchema>;

export const taintEffectSchema = z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']);
export type TaintEffect = z.infer<typeof taintEffectSchema>;

export const taintSchema = z.strictObject({
  key: labelKeySchema,
  value: labelValueSchema.default(''),
  effect: taintEffectSchema,
  /** When a NoExecute taint was added; tolerationSeconds count from here. */
  addedAt: z.iso.datetime({ offset: true }).optional(),
});
export type Taint = z.infer<typeof taintSchema>;

export const tolerationSchema = z.strictObject({
  key: labelKeySchema.optional(),
  operator: z.enum(['Equal', 'Exists']).default('Equal'),
  value: labelValueSchema.default(''),
  effect: taintEffectSchema.optional(),
  tolerationSeconds: z.number().int().nonnegative().optional(),
});
export type Toleration = z.infer<typeof tolerationSchema>;

export const topologySpreadSchema = z.strictObject({
  topologyKey: labelKeySchema,
  maxSkew: z.number().int().min(1).default(1),
  whenUnsatisfiable: z.enum(['DoNotSchedule', 'ScheduleAnyway']).default('ScheduleAnyway'),
});
export type TopologySpread = z.infer<typeof topologySpreadSchema>;

/** Well-known device labels (the Kubernetes topology.kubernetes.io/* counterparts). */
export const wellKnownLabels = {
  zone: 'topology.edgepilot.io/zone',
  site: 'topology.edgepilot.io/site',
  arch: 'edgepilot.io/arch',
  os: 'edgepilot.io/os',
  hostname: 'edgepilot.io/hostname',
} as const;

/** Taints the hub itself sets. */
export const wellKnownTaints = {
  unreachable: 'edgepilot.io/unreachable',
  unschedulable: 'edgepilot.io/unschedulable',
} as const;
