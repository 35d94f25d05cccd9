import type { z } from 'zod';
import { deviceIdSchema, describeIssues, mcuIdSchema, nameSchema, tokenIdSchema } from '../../protocol/index.js';
import { badRequest } from './http-error.js';

/**
 * Every id and name in a path is checked against the protocol's rules before it reaches the
 * store: a malformed one answers 400 naming the parameter, a well-formed absent one 404.
 */
const ID_RULE = 'lowercase letters, digits and -, starting with a letter or digit, at most 63 characters';
const NAME_RULE = 'lowercase letters, digits and -, starting and ending with a letter or digit, at most 63 characters';

export const pathParams = {
  id: { schema: deviceIdSchema, what: 'device id', rule: ID_RULE },
  gateway: { schema: deviceIdSchema, what: 'gateway device id', rule: ID_RULE },
  mcu: { schema: mcuIdSchema, what: 'MCU id', rule: ID_RULE },
  /** Prefer nameParam, which names the kind. */
  name: { schema: nameSchema, what: 'name', rule: NAME_RULE },
  tokenId: { schema: tokenIdSchema, what: 'token id', rule: 'lowercase letters and digits, at most 32' },
} as const;

/** A value quoted for an error message: escaped, and cut short (it may be megabytes long). */
export function quoted(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value);
  const cut = text.length > 64 ? `${text.slice(0, 64)}…` : text;
  return JSON.stringify(cut);
}

/** The path parameter `key` of a request, checked; throws a 400 naming it. */
export function pathParam(params: unknown, key: keyof typeof pathParams, as = key as string): string {
  const value = (params as Record<string, unknown> | null | undefined)?.[as];
  const { schema, what, rule } = pathParams[key];
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest(`${as}: ${quoted(value)} is not a valid ${what} (${rule})`);
  return parsed.data;
}

/** The `:name` of a route about one kind of object: a 400 names the kind (`… is not a valid job name`). */
export function nameParam(params: unknown, kind: string): string {
  const value = (params as Record<string, unknown> | null | undefined)?.['name'];
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw badRequest(`name: ${quoted(value)} is not a valid ${kind} name (${NAME_RULE})`);
  return parsed.data;
}

/** A query string or body checked against a schema; the 400 names `where` and the field. */
export function checked<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest(`${where}: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}
