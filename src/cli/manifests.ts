import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { LineCounter, parseAllDocuments, isNode, type Document } from 'yaml';
import type { z } from 'zod';
import { cronJobManifestSchema, jobManifestSchema, workloadManifestSchema } from '../protocol/index.js';
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

/** The line of the node at `path`, or of the deepest ancestor that exists (a missing field). */
function lineOf(doc: Document, path: readonly PropertyKey[], counter: LineCounter): number {
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as (string | number)[], true);
    if (isNode(node) && node.range) return counter.linePos(node.range[0]).line;
  }
  return doc.range ? counter.linePos(doc.range[0]).line : 1;
}

/**
 * Reads manifests from files, folders or stdin and checks them here, before anything is sent,
 * so that every error names the file, the line and the field.
 */
/** The kinds `apply` takes, each checked here first so an error names the file and line. */
const manifestSchemas: Record<string, z.ZodType> = { Workload: workloadManifestSchema, Job: jobManifestSchema, CronJob: cronJobManifestSchema };

export async function loadManifests(paths: readonly string[], stdin: () => Promise<string>): Promise<LoadedManifest[]> {
  const out: LoadedManifest[] = [];
  for (const path of paths) {
    for (const source of await readSource(path, stdin)) {
      const counter = new LineCounter();
      const docs = parseAllDocuments(source.text, { lineCounter: counter, prettyErrors: false });
      if (!Array.isArray(docs)) throw new CliError(`${source.name}: not a YAML stream`);
      for (const doc of docs) {
        const error = doc.errors[0];
        if (error) {
          const pos = counter.linePos(error.pos[0]);
          throw new CliError(`${source.name}:${pos.line}:${pos.col}: YAML syntax error: ${error.message.split('\n')[0] ?? ''}`);
        }
        const value: unknown = doc.toJS();
        if (value === null || value === undefined) continue;
        const kind = (value as { kind?: unknown }).kind;
        const schema = typeof kind === 'string' ? manifestSchemas[kind] : undefined;
        if (!schema) {
          throw new CliError(`${source.name}:${lineOf(doc, ['kind'], counter)}: kind: ${JSON.stringify(kind ?? null)} is not supported (supported: ${Object.keys(manifestSchemas).join(', ')})`);
        }
        const parsed = schema.safeParse(value);
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const path = issue?.path ?? [];
          const line = lineOf(doc, path, counter);
          throw new CliError(`${source.name}:${line}: ${path.length ? path.map(String).join('.') : '(document)'}: ${issue?.message ?? 'invalid'}`);
        }
        out.push({ source: source.name, line: doc.range ? counter.linePos(doc.range[0]).line : 1, value });
      }
    }
  }
  if (out.length === 0) throw new CliError('no manifests found');
  return out;
}

export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
