import * as z from 'zod';
import { isoTimeSchema, labelsSchema, nameSchema } from './common.js';

/**
 * ConfigMap and Secret (issue 14): named bundles of keys that workloads read as files or env.
 * A Secret has the same shape as a ConfigMap; what differs is where its values may appear: the hub
 * keeps them encrypted, and a device receives them sealed to its own key (sealed-box.ts).
 */

/** Largest content of one ConfigMap or Secret (all values, binary ones decoded). It travels inside a desired document. */
export const CONFIG_OBJECT_MAX_BYTES = 64 * 1024;
/** A key is also a file name: no separators, never `.` or `..`. */
export const CONFIG_KEY_PATTERN = /^(?!\.{1,2}$)[-._a-zA-Z0-9]{1,253}$/;
export const configKeySchema = z.string().regex(CONFIG_KEY_PATTERN, 'a key is letters, digits, -, _ and . (a file name), never . or ..');
export const base64Schema = z.string().refine((s) => s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s), 'must be base64');

/** Every value as bytes (base64), whatever it was written as: what devices receive and files hold. */
export const configValuesSchema = z.record(configKeySchema, base64Schema);
export type ConfigValues = z.infer<typeof configValuesSchema>;

/** A Secret's values sealed to one device's X25519 key (see sealed-box.ts); the hub holds no key to open it. */
export const sealedBoxSchema = z.strictObject({
  /** Format version. */
  v: z.literal(1),
  /** Id of the recipient's key (sha256 of its raw public key, first 16 hex): the device checks it is its own. */
  keyId: z.string().regex(/^[a-f0-9]{16}$/),
  /** Ephemeral X25519 public key, raw, base64. */
  epk: base64Schema,
  iv: base64Schema,
  /** AES-256-GCM ciphertext followed by its 16-byte tag, base64. */
  ct: base64Schema,
});
export type SealedBox = z.infer<typeof sealedBoxSchema>;

/**
 * A ConfigMap or Secret in a device's desired document: only those its placed instances reference.
 * `version` changes with the content; a ConfigMap carries its values, a Secret only a sealed box.
 */
export const desiredConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('ConfigMap'), name: nameSchema, version: z.string().regex(/^[a-f0-9]{16}$/), values: configValuesSchema }),
  z.strictObject({ kind: z.literal('Secret'), name: nameSchema, version: z.string().regex(/^[a-f0-9]{16}$/), sealed: sealedBoxSchema }),
]);
export type DesiredConfig = z.infer<typeof desiredConfigSchema>;


export const configVersionSchema = z.string().regex(/^[a-f0-9]{16}$/, 'a config version is 16 hex digits (shown by describe configmap/secret)');
export const configKindSchema = z.enum(['ConfigMap', 'Secret']);

/** A Secret's values at rest: AES-256-GCM under the hub's data key (the hub's data-key.ts). */
export const encryptedValuesSchema = z.strictObject({ iv: base64Schema, ct: base64Schema });

/** One version of an object's content as the hub keeps it (a Secret's as ciphertext only). */
const storedContentFields = {
  /** sha256 of the content (first 16 hex): what devices compare and releases pin. */
  version: configVersionSchema,
  keys: z.array(configKeySchema),
  sizes: z.record(configKeySchema, z.number().int().nonnegative()),
  /** Keys written as `data` (text), for showing them back as written. */
  textKeys: z.array(configKeySchema),
  values: configValuesSchema.optional(),
  encrypted: encryptedValuesSchema.optional(),
};

/** An earlier version, kept so that a release can pin it (and `describe` can list it). */
export const configObjectVersionSchema = z.strictObject({ ...storedContentFields, storedAt: isoTimeSchema });
export type ConfigObjectVersion = z.infer<typeof configObjectVersionSchema>;

/** How many earlier versions an object keeps besides the ones a release pins (those are never dropped). */
export const CONFIG_HISTORY_LIMIT = 10;

/** A ConfigMap or Secret as the hub stores it: the newest content plus its earlier versions, newest first. */
export const configObjectRecordSchema = z.strictObject({
  kind: configKindSchema,
  name: nameSchema,
  labels: labelsSchema,
  annotations: z.record(z.string().max(253), z.string().max(4096)),
  immutable: z.boolean(),
  ...storedContentFields,
  history: z.array(configObjectVersionSchema).optional(),
  createdAt: isoTimeSchema,
  updatedAt: isoTimeSchema,
});
export type ConfigObjectRecord = z.infer<typeof configObjectRecordSchema>;

/** `ConfigMap/<name>` or `Secret/<name>`: a stored object's key. */
export const configObjectKey = (kind: 'ConfigMap' | 'Secret', name: string): string => `${kind}/${name}`;
export const configObjectKeySchema = z.string().regex(/^(ConfigMap|Secret)\/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'invalid config object key');

/** A release's pin of one ConfigMap or Secret version: devices of the release read that content. */
export const releaseConfigPinSchema = z.strictObject({ kind: configKindSchema, name: nameSchema, version: configVersionSchema });
export type ReleaseConfigPin = z.infer<typeof releaseConfigPinSchema>;
