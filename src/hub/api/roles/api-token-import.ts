// People's API tokens a hub kept in its data folder (api-tokens.json), moved into the store
// several hubs share when the hub starts on PostgreSQL (issue 15). Until then an operator who
// moved a hub to PostgreSQL had to make every person's token again. Only what the file holds is
// moved: names, roles and the hashes of the secrets (never a secret), each audited. A name the
// shared store has already keeps its record (another hub's token of that name, or this file
// imported before). The file is then renamed, so a restart does not import it again and a token
// revoked in the shared store meanwhile is not brought back from it.
import { rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import type { AuditEntry } from '../../../protocol/index.js';
import { fileApiTokenRepository, type ApiTokenRepository } from '../../store/api-token-records.js';

/** What the file is renamed to once imported. */
export const importedName = (path: string): string => `${path}.imported`;

export interface ApiTokenImport {
  /** Names stored in the shared store now. */
  imported: string[];
  /** Names the shared store had already (left as they were). */
  kept: string[];
  renamedTo: string;
}

export async function importApiTokenFile(options: {
  path: string;
  into: ApiTokenRepository;
  audit: (entry: AuditEntry) => Promise<void>;
  now: () => Date;
  log: (line: string) => void;
}): Promise<ApiTokenImport | undefined> {
  const { path, into } = options;
  if (!existsSync(path)) return undefined;
  // Read and checked as the hub read it (a damaged file stops the start, naming it).
  const records = await (await fileApiTokenRepository(path)).list();
  const imported: string[] = [];
  const kept: string[] = [];
  for (const record of records) {
    let added = false;
    await into.change(record.name, (current) => {
      added = current === undefined;
      return current ?? record;
    });
    if (!added) {
      kept.push(record.name);
      continue;
    }
    imported.push(record.name);
    await options.audit({ time: options.now().toISOString(), who: 'hub', role: 'admin', method: 'IMPORT', route: 'api-tokens.json', object: `name=${record.name}`, status: 201, source: path });
  }
  const renamedTo = importedName(path);
  await rename(path, renamedTo);
  options.log(
    `API tokens: ${imported.length} of ${records.length} moved from ${path} into the shared store${kept.length > 0 ? ` (already there, left as they were: ${kept.join(', ')})` : ''}; the file is now ${renamedTo}`,
  );
  return { imported, kept, renamedTo };
}
