import * as z from 'zod';
import { isoTimeSchema } from './common.js';

/** Kubernetes-style events: a CamelCase reason for machines, a sentence for people. */
export const eventSchema = z.strictObject({
  time: isoTimeSchema,
  type: z.enum(['Normal', 'Warning']),
  reason: z.string().regex(/^[A-Z][A-Za-z]{1,63}$/),
  message: z.string().max(2000),
  object: z.strictObject({ kind: z.string().max(32), name: z.string().max(128) }).optional(),
});
export type DeviceEvent = z.infer<typeof eventSchema>;
