// lowdb repository of ConfigMaps and Secrets (issue 14), and the move of the file they lived in
// before (`config-objects.json`, sessions 1–3) into the store.
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileIfExists } from '../../common/durable-file.js';
import { configObjectKey } from '../../protocol/index.js';
import type { Backing } from './lowdb-repositories.js';
import { recordProblem, StoreRecordError } from './record-check.js';
import type { ConfigObjectRepository } from './repository.js';
import { errorMessage } from '../../common/errors.js';

export function configObjectRepository(b: Backing): ConfigObjectRepository {
  const byName = <T extends { name: string }>(a: T, c: T): number => (a.name < c.name ? -1 : a.name > c.name ? 1 : 0);
  return {
    get: async (kind, name) => {
      const found = b.doc().configObjects[configObjectKey(kind, name)];
      return found === undefined ? undefined : structuredClone(found);
    },
    list: async (kind) =>
      Object.values(b.doc().configObjects)
        .filter((o) => kind === undefined || o.kind === kind)
        .sort(byName)
        .map((o) => structuredClone(o)),
    // Writes replace records whole (apply-batch.ts), so the stored objects can be handed out as they are.
    snapshot: async () => Object.values(b.doc().configObjects),
    delete: async (kind, name) => {
      const key = configObjectKey(kind, name);
      if (b.doc().configObjects[key] === undefined) return false;
      delete b.doc().configObjects[key];
      await b.persist('sync');
      return true;
    },
  };
}

export const LEGACY_CONFIG_FILE = 'config-objects.json';

/**
 * Moves the objects of `<data>/config-objects.json` into the store (one durable write), then renames
 * the file to `config-objects.json.migrated` (kept aside, not deleted). An object the store already
 * has is left as the store has it: a crash between the write and the rename repeats the move
 * harmlessly at the next start. A malformed object refuses the start, as a malformed stored one would.
 */
export async function adoptLegacyConfigFile(dataDir: string, b: Backing, warn: (message: string) => void): Promise<number> {
  const path = join(dataDir, LEGACY_CONFIG_FILE);
  const text = await readFileIfExists(path);
  if (text === undefined) return 0;
  let objects: unknown;
  try {
    objects = (JSON.parse(text) as { objects?: unknown }).objects;
  } catch (err) {
    throw new StoreRecordError(`${path}: not valid JSON (${errorMessage(err)}); refusing to start without its ConfigMaps and Secrets: fix or move the file`);
  }
  if (!Array.isArray(objects)) throw new StoreRecordError(`${path}: "objects" is not a list; refusing to start without its ConfigMaps and Secrets: fix or move the file`);
  const doc = b.doc();
  let moved = 0;
  for (const o of objects as { kind?: unknown; name?: unknown }[]) {
    const key = `${String(o?.kind)}/${String(o?.name)}`;
    const problem = recordProblem('configObjects', key, o);
    if (problem !== undefined) throw new StoreRecordError(`${path}: object ${JSON.stringify(key.slice(0, 80))} is malformed (${problem}); refusing to start: fix or remove it`);
    if (doc.configObjects[key] !== undefined) continue;
    doc.configObjects[key] = o as (typeof doc.configObjects)[string];
    moved += 1;
  }
  if (moved > 0) await b.persist('sync');
  await rename(path, `${path}.migrated`);
  warn(`${path}: ${moved} ConfigMaps and Secrets moved into the store; the file is kept as ${LEGACY_CONFIG_FILE}.migrated`);
  return moved;
}
