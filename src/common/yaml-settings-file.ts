// A settings file in YAML (the CLI's config.yaml, the hub's --config) read against its schema.
// Every error is one line naming the file, the line and the field, like a manifest error: the
// person has to find it in an editor. The caller wraps the typed error in its own kind (CliError...).
import { readFile } from 'node:fs/promises';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { errnoCode, errorMessage } from './errors.js';

export class SettingsFileError extends Error {
  constructor(
    readonly code: 'unreadable' | 'missing' | 'syntax' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/** The line of the value at `path`, or of its nearest ancestor that exists. */
function lineOf(doc: Document, path: readonly PropertyKey[], counter: LineCounter): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth) as (string | number)[], true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return 1;
}

/** Parse `text` (from `name`) against `schema`; `what` names the file in messages ("config file"). */
export function parseSettingsText<S extends z.ZodType>(text: string, name: string, schema: S, what: string): z.output<S> {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = counter.linePos(syntax.pos[0]);
    throw new SettingsFileError('syntax', `${what} ${name}:${pos.line}:${pos.col}: YAML syntax error: ${syntax.message.split('\n')[0] ?? ''}`);
  }
  const raw: unknown = doc.toJS() ?? {};
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const issuePath = issue?.path ?? [];
    // An unknown key is reported on the object that holds it; point at the key itself.
    const keys = issue?.code === 'unrecognized_keys' ? [...issuePath, ...issue.keys.slice(0, 1)] : issuePath;
    const field = keys.length ? keys.map(String).join('.') : '(document)';
    throw new SettingsFileError('invalid', `${what} ${name}:${lineOf(doc, keys, counter)}: ${field}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

/** Read and check a settings file; a missing file is `missing` (the caller decides whether that is fine). */
export async function readSettingsFile<S extends z.ZodType>(path: string, schema: S, what: string): Promise<z.output<S>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    throw new SettingsFileError(code === 'ENOENT' ? 'missing' : 'unreadable', `cannot read ${what} ${path}: ${code ?? errorMessage(err)}`);
  }
  return parseSettingsText(text, path, schema, what);
}
