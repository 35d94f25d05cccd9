import { z } from 'zod';
import { nameSchema } from './common.js';

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

