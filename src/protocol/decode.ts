import type { z } from 'zod';

export type Decoded<T> = { ok: true; value: T } | { ok: false; error: string };

/** One problem at one field: `path` leads to the offending field itself, not to its enclosing map. */
export interface Problem {
  path: PropertyKey[];
  message: string;
}

type Issue = z.core.$ZodIssue;

function expectedOf(issue: Issue): string[] {
  if (issue.code === 'invalid_type') return [issue.expected];
  if (issue.code === 'invalid_value') return issue.values.map((v) => JSON.stringify(v) ?? String(v));
  return [];
}

/** What a failed union means: the branch the input got furthest in, or every accepted type. */
function unionProblems(issue: z.core.$ZodIssueInvalidUnion, base: PropertyKey[]): Problem[] {
  if (issue.errors.length === 0) return [{ path: base, message: issue.message }];
  // A branch that failed on content, not on type, is the one the author meant.
  const meant = issue.errors.find((branch) => branch.length > 0 && branch.every((i) => expectedOf(i).length === 0));
  if (meant) return listProblems(meant, base);
  const expected = [...new Set(issue.errors.flatMap((branch) => branch.flatMap(expectedOf)))];
  return [{ path: base, message: expected.length > 0 ? `expected ${expected.join(' or ')}` : issue.message }];
}

/**
 * Every problem, one per field: an unknown key is named at its own path, and a failed union
 * says what it accepts instead of zod's bare "Invalid input".
 */
export function listProblems(issues: readonly Issue[], base: PropertyKey[] = []): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const path = [...base, ...issue.path];
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown field' }));
    if (issue.code === 'invalid_union' && issue.message === 'Invalid input') return unionProblems(issue, path);
    // A record key that breaks its rule: say the rule (zod says only "Invalid key in record").
    if (issue.code === 'invalid_key' && issue.issues.length > 0) return listProblems(issue.issues, path).map((p) => ({ path, message: p.message }));
    return [{ path, message: issue.message }];
  });
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.length > 0 ? path.map(String).join('.') : '(root)';
}

/** Bound on what one error line lists, so a garbage payload cannot make a huge log line. */
const MAX_LISTED = 20;

/** One line naming every field that failed, e.g. `cpu.cores: expected number, received string`. */
export function describeIssues(issues: readonly Issue[]): string {
  const problems = listProblems(issues);
  const listed = problems.slice(0, MAX_LISTED).map((p) => `${formatPath(p.path)}: ${p.message}`);
  if (problems.length > MAX_LISTED) listed.push(`and ${problems.length - MAX_LISTED} more`);
  return listed.join('; ');
}

/**
 * The single entry point for inbound wire data: size bound first (cheap), then JSON, then the
 * schema. Callers never see unvalidated data.
 */
export function decodePayload<S extends z.ZodType>(
  schema: S,
  payload: Uint8Array | string,
  maxBytes: number,
): Decoded<z.output<S>> {
  const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
  if (size > maxBytes) return { ok: false, error: `payload of ${size} bytes exceeds the limit of ${maxBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8'));
  } catch (err) {
    return { ok: false, error: `payload is not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  return validate(schema, json);
}

export function validate<S extends z.ZodType>(schema: S, value: unknown): Decoded<z.output<S>> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, error: describeIssues(parsed.error.issues) };
}
