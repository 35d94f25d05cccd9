import { createHash } from 'node:crypto';
import { canonicalJson, type Template } from '../../protocol/index.js';

/** Sorted-key JSON, the protocol's rule (release digests use it too). */
export { canonicalJson };

/** The revision of a template: equal templates, equal revision, nothing for a device to do. */
export function templateRevision(template: Template): string {
  return createHash('sha256').update(canonicalJson(template)).digest('hex').slice(0, 16);
}
