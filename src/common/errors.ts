/**
 * Reading a caught value. A `catch` gets `unknown`: anything can be thrown (a string, a number,
 * null, a plain object from a library), and `(err as Error).message` prints `undefined` or throws
 * for those. Branch on a typed error's `code` or class, never on these strings: they are for
 * people.
 */

/** The text to show for a caught value, whatever was thrown. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') return err.message;
  return String(err);
}

/** The caught value itself if it is an Error, or an Error carrying its text (for APIs that take an Error). */
export function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err));
}

/** The stack of a caught Error (for logs of failures nobody expected), or its text otherwise. */
export function errorStack(err: unknown): string {
  if (err instanceof Error && err.stack !== undefined) return err.stack;
  return errorMessage(err);
}

/** The `code` Node puts on system errors (`ENOENT`, `ECONNREFUSED`…), if the value has a string one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  return typeof err.code === 'string' ? err.code : undefined;
}
