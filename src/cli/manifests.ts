import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, isMap, isNode, isScalar, isSeq, type Document } from 'yaml';
import type { z } from 'zod';
import { configMapManifestSchema, cronJobManifestSchema, formatPath, jobManifestSchema, listProblems, maintenanceWindowManifestSchema, releaseManifestSchema, rolloutManifestSchema, secretManifestSchema, serviceManifestSchema, workloadManifestSchema } from '../protocol/index.js';
import { CliError } from './errors.js';

export interface LoadedManifest {
  source: string;
  line: number;
  value: unknown;
}

async function readSource(path: string, stdin: () => Promise<string>): Promise<{ name: string; text: string }[]> {
  if (path === '-') return [{ name: '<stdin>', text: await stdin() }];
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new CliError(`${path}: no such file or folder`);
  }
  if (!info.isDirectory()) return [{ name: path, text: await readFile(path, 'utf8') }];
  const names = (await readdir(path)).filter((n) => /\.(ya?ml|json)$/.test(n)).sort();
  if (names.length === 0) throw new CliError(`${path}: no .yaml, .yml or .json files`);
  return Promise.all(names.map(async (n) => ({ name: join(path, n), text: await readFile(join(path, n), 'utf8') })));
}

/**
 * The line of the field at `path`: its key's line (so `resources:` and not the first line of
 * the map under it), or for a missing field the line of the deepest ancestor that exists.
 */
function lineOf(doc: Document, path: readonly PropertyKey[], counter: LineCounter): number {
  for (let depth = path.length; depth > 0; depth--) {
    const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1) as (string | number)[], true);
    const key = path[depth - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
      const node = pair ? (isNode(pair.key) ? pair.key : pair.value) : undefined;
      if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
    } else if (isSeq(parent) && typeof key === 'number') {
      const node = parent.items[key];
      if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
    }
  }
  return firstLine(doc, counter);
}

/** Where the document's content starts (after a `---` marker, if any). */
function firstLine(doc: Document, counter: LineCounter): number {
  const range = doc.contents?.range ?? doc.range;
  return range ? counter.linePos(range[0]).line : 1;
}

/** The kinds `apply` takes, each checked here first so an error names the file and line. */
const manifestSchemas: Record<string, z.ZodType> = {
  Workload: workloadManifestSchema,
  Job: jobManifestSchema,
  CronJob: cronJobManifestSchema,
  Release: releaseManifestSchema,
  Rollout: rolloutManifestSchema,
  MaintenanceWindow: maintenanceWindowManifestSchema,
  Service: serviceManifestSchema,
  ConfigMap: configMapManifestSchema,
  Secret: secretManifestSchema,
};

/** Every problem of one document, each as `file:line: field: message`. */
function documentProblems(doc: Document, name: string, counter: LineCounter): string[] {
  if (doc.errors.length > 0) {
    return doc.errors.map((error) => {
      const pos = counter.linePos(error.pos[0]);
      return `${name}:${pos.line}:${pos.col}: YAML syntax error: ${error.message.split('\n')[0] ?? ''}`;
    });
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return [];
  const kind = (value as { kind?: unknown }).kind;
  const schema = typeof kind === 'string' && Object.hasOwn(manifestSchemas, kind) ? manifestSchemas[kind] : undefined;
  if (!schema) {
    return [`${name}:${lineOf(doc, ['kind'], counter)}: kind: ${JSON.stringify(kind ?? null)} is not supported (supported: ${Object.keys(manifestSchemas).join(', ')})`];
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return [];
  return listProblems(parsed.error.issues)
    .map((problem) => ({ line: lineOf(doc, problem.path, counter), text: `${formatPath(problem.path)}: ${problem.message}` }))
    .sort((a, b) => a.line - b.line)
    .map((p) => `${name}:${p.line}: ${p.text}`);
}

/**
 * Reads manifests from files, folders or stdin and checks them here, before anything is sent,
 * so that every error names the file, the line and the field. Every problem in every document
 * is reported at once, one line each, so a technician fixes a file in one round.
 */
export async function loadManifests(paths: readonly string[], stdin: () => Promise<string>): Promise<LoadedManifest[]> {
  const out: LoadedManifest[] = [];
  const problems: string[] = [];
  for (const path of paths) {
    for (const source of await readSource(path, stdin)) {
      const counter = new LineCounter();
      const docs = parseAllDocuments(source.text, { lineCounter: counter, prettyErrors: false });
      if (!Array.isArray(docs)) throw new CliError(`${source.name}: not a YAML stream`);
      for (const doc of docs) {
        const found = documentProblems(doc, source.name, counter);
        problems.push(...found);
        const value: unknown = found.length === 0 ? doc.toJS() : undefined;
        if (value !== null && value !== undefined) out.push({ source: source.name, line: firstLine(doc, counter), value });
      }
    }
  }
  // main prints `error: ` before the message; each further problem gets the same prefix.
  if (problems.length > 0) throw new CliError(problems.join('\nerror: '));
  if (out.length === 0) throw new CliError('no manifests found');
  return out;
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
