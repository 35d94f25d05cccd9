import * as z from 'zod';
import { DEVICE_ID_PATTERN } from '../topics.js';

/** Label keys follow Kubernetes: optional DNS prefix, then a name of at most 63 characters. */
export const LABEL_KEY_PATTERN = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
export const LABEL_VALUE_PATTERN = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

export const labelKeySchema = z.string().regex(LABEL_KEY_PATTERN, 'invalid label key');
export const labelValueSchema = z.string().regex(LABEL_VALUE_PATTERN, 'invalid label value');
export const labelsSchema = z.record(labelKeySchema, labelValueSchema);
export type Labels = z.infer<typeof labelsSchema>;

export const deviceIdSchema = z.string().regex(DEVICE_ID_PATTERN, 'invalid device id');
export const isoTimeSchema = z.iso.datetime({ offset: true });

/** Kubernetes-style object name (RFC 1123 label). */
export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
export const nameSchema = z.string().regex(NAME_PATTERN, 'must be lowercase letters, digits and -, at most 63 characters');

/** Join token ids: the part before the dot of `<id>.<secret>` (the hub makes six lowercase alphanumerics). */
export const TOKEN_ID_PATTERN = /^[a-z0-9]{1,32}$/;
export const tokenIdSchema = z.string().regex(TOKEN_ID_PATTERN, 'invalid token id');
