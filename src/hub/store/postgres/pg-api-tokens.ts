// People's API tokens in the store several hubs share (issue 15): one record per name, kind
// `apiTokens`. A token made or revoked at one hub is the same record every hub reads.
import { apiTokenRecordSchema, type ApiTokenRecord, type ApiTokenRepository } from '../api-token-records.js';
import type { RecordsDb } from './records-db.js';

const KIND = 'apiTokens';

/** Two hubs creating a name that did not exist both found no row to lock; the second's insert meets the first's. */
class CreatedMeanwhile extends Error {
  readonly code = 'CreatedMeanwhile';
}

export function pgApiTokenRepository(db: RecordsDb): ApiTokenRepository {
  const once = (name: string, change: (current: ApiTokenRecord | undefined) => ApiTokenRecord): Promise<ApiTokenRecord> =>
    db.transaction(async (tx) => {
      const stored = await tx.get(KIND, name, true);
      const current = stored === undefined ? undefined : apiTokenRecordSchema.parse(stored);
      const next = apiTokenRecordSchema.parse(change(current));
      if (current !== undefined) await tx.put(KIND, name, next);
      else if (!(await tx.insert(KIND, name, next))) throw new CreatedMeanwhile();
      return next;
    });
  return {
    shared: true,
    list: async () => (await db.all(KIND)).map(([, doc]) => apiTokenRecordSchema.parse(doc)),
    change: async (name, change) => {
      try {
        return await once(name, change);
      } catch (err) {
        // Decided again against the other hub's record, now there to lock.
        if (err instanceof CreatedMeanwhile) return once(name, change);
        throw err;
      }
    },
  };
}
