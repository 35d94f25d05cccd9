import * as z from 'zod';
import { isoTimeSchema, nameSchema } from './common.js';
import { API_VERSION, metadataSchema } from './workload.js';
import { base64Schema, CONFIG_OBJECT_MAX_BYTES, configKeySchema } from './config-object.js';

/** `kind: ConfigMap` and `kind: Secret` as written (hub and CLI only; the agent sees desired-config form). */
export type ConfigKind = 'ConfigMap' | 'Secret';

function configManifestSchema<K extends ConfigKind>(kind: K) {
  return z
    .strictObject({
      apiVersion: z.literal(API_VERSION),
      kind: z.literal(kind),
      metadata: metadataSchema,
      /** UTF-8 values. */
      data: z.record(configKeySchema, z.string()).default({}),
      /** Binary values, base64. */
      binaryData: z.record(configKeySchema, base64Schema).default({}),
      /** Once stored, the content cannot change (delete and re-create it instead). */
      immutable: z.boolean().default(false),
    })
    .superRefine((m, ctx) => {
      let bytes = 0;
      for (const value of Object.values(m.data)) bytes += Buffer.byteLength(value);
      for (const [key, value] of Object.entries(m.binaryData)) {
        bytes += Buffer.from(value, 'base64').length;
        if (Object.hasOwn(m.data, key)) ctx.addIssue({ code: 'custom', path: ['binaryData', key], message: `key ${key} is also in data; a key may appear once` });
      }
      if (bytes > CONFIG_OBJECT_MAX_BYTES) ctx.addIssue({ code: 'custom', path: ['data'], message: `content is ${bytes} bytes, over the ${CONFIG_OBJECT_MAX_BYTES}-byte limit of a ${kind}` });
    });
}

export const configMapManifestSchema = configManifestSchema('ConfigMap');
export const secretManifestSchema = configManifestSchema('Secret');
export type ConfigMapManifest = z.infer<typeof configMapManifestSchema>;
export type SecretManifest = z.infer<typeof secretManifestSchema>;

/** `GET /v1/configmaps|secrets[/name]`: keys always; values of a Secret only for an admin who asks. */
export const configObjectViewSchema = z.strictObject({
  kind: z.enum(['ConfigMap', 'Secret']),
  name: nameSchema,
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()),
  immutable: z.boolean(),
  version: z.string(),
  keys: z.array(z.string()),
  /** Sizes in bytes, per key. */
  sizes: z.record(z.string(), z.number().int().nonnegative()),
  /** Workloads and Jobs whose templates reference it. */
  usedBy: z.array(z.string()),
  /** Newest first, the current one included: each with when it was stored and the releases (`name@version`) that pin it. */
  versions: z.array(z.strictObject({ version: z.string(), storedAt: isoTimeSchema, pinnedBy: z.array(z.string()) })).default([]),
  createdAt: isoTimeSchema,
  updatedAt: isoTimeSchema,
  /** ConfigMaps always; Secrets only with `?showValues=true` by an admin. UTF-8 values as text, others under binaryData. */
  data: z.record(z.string(), z.string()).optional(),
  binaryData: z.record(z.string(), z.string()).optional(),
});
export type ConfigObjectView = z.infer<typeof configObjectViewSchema>;
