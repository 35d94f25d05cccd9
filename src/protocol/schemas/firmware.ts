import * as z from 'zod';
import { isoTimeSchema } from './common.js';

/** Lower-case hex sha256: the id of a firmware image in the hub's content-addressed store. */
export const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex digits');

/** A firmware key id: the first 16 hex digits of the key's fingerprint. */
export const firmwareKeyIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'must be a key id of 16 lower-case hex digits');

/**
 * A firmware manifest as it travels (API, bundle files). Mirrors the firmware module's
 * FirmwareManifest; the signature covers its canonical JSON, so nothing here may add,
 * drop or rewrite a field (strict objects, no transforms, no defaults).
 */
export const firmwareManifestSchema = z.strictObject({
  schema: z.literal(1),
  /** MCU model as IDENTITY reports it (at most 24 characters, hardware/PROTOCOL.md). */
  target: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,23}$/i),
  version: z.string().min(5).max(64),
  size: z.number().int().nonnegative().max(16 * 1024 * 1024),
  sha256: sha256Schema,
  loadAddress: z.number().int().min(0).max(0xffff_ffff),
  createdAt: z.string().max(40),
  format: z.enum(['hex', 'bin']),
});
export type FirmwareManifestWire = z.infer<typeof firmwareManifestSchema>;

export const manifestSignatureSchema = z.strictObject({
  keyId: firmwareKeyIdSchema,
  /** Base64 of a 64-byte Ed25519 signature. */
  value: z.string().max(128),
});

/** `POST /v1/firmware`: the flattened image (gaps 0xFF) in base64, with its signed manifest. */
export const firmwareUploadSchema = z.strictObject({
  manifest: firmwareManifestSchema,
  signature: manifestSignatureSchema,
  image: z.base64(),
});
export type FirmwareUpload = z.infer<typeof firmwareUploadSchema>;

/** A stored image as the API lists it. */
export const firmwareImageViewSchema = z.object({
  sha256: sha256Schema,
  target: z.string(),
  version: z.string(),
  size: z.number().int(),
  loadAddress: z.number().int(),
  keyId: z.string(),
  /** False once the signer's key was removed (firmware untrust): the hub no longer serves the image to gateways. */
  keyTrusted: z.boolean(),
  createdAt: z.string(),
  uploadedAt: isoTimeSchema,
});
export type FirmwareImageView = z.infer<typeof firmwareImageViewSchema>;

/**
 * `POST /v1/firmware` answers with the image that is stored under the upload's sha256 and
 * what this upload did: `stored` (new), `unchanged` (the same image, target and version was
 * already there; its stored signature is kept), `re-signed` (it was there signed by a key the
 * hub no longer trusts; the upload's signature replaced it). Any other clash is refused (409).
 */
export const firmwareUploadResultSchema = firmwareImageViewSchema.extend({
  outcome: z.enum(['stored', 'unchanged', 're-signed']),
});
export type FirmwareUploadResult = z.infer<typeof firmwareUploadResultSchema>;

/** `GET /v1/firmware/manifest?sha256=`: what a gateway verifies before flashing. */
export const firmwareManifestEnvelopeSchema = z.strictObject({
  manifest: firmwareManifestSchema,
  signature: manifestSignatureSchema,
});
export type FirmwareManifestEnvelope = z.infer<typeof firmwareManifestEnvelopeSchema>;

/** Whether the text is an Ed25519 public key is the hub's check (publicKeyProblem), so its answer names the problem. */
export const firmwareKeyAddSchema = z.strictObject({ publicKeyPem: z.string().max(4096) });

export const firmwareKeyViewSchema = z.object({
  keyId: z.string(),
  /** sha256 of the raw 32-byte Ed25519 public key, hex; keyId is its first 16 digits. */
  fingerprint: z.string(),
  /** `flag`: from `edgepilot hub --firmware-key`; `api`: registered through the API (kept in the store). */
  source: z.enum(['flag', 'api']),
  /** When the key was registered through the API; absent for `flag` keys. */
  addedAt: isoTimeSchema.optional(),
  publicKeyPem: z.string(),
});
export type FirmwareKeyView = z.infer<typeof firmwareKeyViewSchema>;

/** `DELETE /v1/firmware/keys/<keyId>`: the key that was removed and the stored images it alone had signed. */
export const firmwareKeyRemovedSchema = z.object({
  keyId: z.string(),
  /** Stored images signed by this key; the hub no longer serves them to gateways. */
  imagesNoLongerServed: z.array(z.object({ sha256: sha256Schema, target: z.string(), version: z.string() })),
});
export type FirmwareKeyRemoved = z.infer<typeof firmwareKeyRemovedSchema>;

/**
 * A signed firmware bundle file (`*.epfw`, JSON): everything a technician needs to flash on
 * site without a hub, checked exactly as a gateway checks an image from the hub.
 */
export const firmwareBundleSchema = z.strictObject({
  apiVersion: z.literal('edgepilot.io/v1'),
  kind: z.literal('FirmwareBundle'),
  manifest: firmwareManifestSchema,
  signature: manifestSignatureSchema,
  /** The flattened image, base64. */
  image: z.base64(),
});
export type FirmwareBundle = z.infer<typeof firmwareBundleSchema>;
