// The audit log in PostgreSQL (migration 004), shared by every hub: one row per write through
// any hub's API, committed before the append resolves (the API answers after it).
import { auditEntrySchema, type AuditEntry } from '../../../protocol/index.js';
import type { SharedAuditRepository } from '../repository.js';
import type { RecordsDb } from './records-db.js';

/** Rows kept (the file log keeps up to 16 MiB, about as many entries); older ones are trimmed. */
export const AUDIT_ROWS_KEPT = 100_000;
/** A hub trims after this many of its appends (a delete of the oldest rows, cheap by id). */
const TRIM_EVERY = 1000;

export function pgAuditRepository(db: RecordsDb, { kept = AUDIT_ROWS_KEPT, trimEvery = TRIM_EVERY } = {}): SharedAuditRepository {
  let appended = 0;
  return {
    append: async (entry) => {
      await db.query('INSERT INTO ep_audit (time, who, entry) VALUES ($1, $2, $3::json)', [entry.time, entry.who, JSON.stringify(entry)]);
      appended += 1;
      if (appended % trimEvery === 0) await db.query('DELETE FROM ep_audit WHERE id <= (SELECT max(id) FROM ep_audit) - $1', [kept]);
    },
    read: async (query) => {
      const rows = await db.query<{ entry: unknown }>(
        `SELECT entry FROM ep_audit WHERE ($1::text IS NULL OR who = $1) AND ($2::timestamptz IS NULL OR time >= $2)
         ORDER BY id DESC LIMIT $3`,
        [query.who ?? null, query.since ?? null, query.limit],
      );
      const entries: AuditEntry[] = [];
      for (const row of rows.reverse()) {
        const parsed = auditEntrySchema.safeParse(row.entry);
        if (parsed.success) entries.push(parsed.data);
      }
      return entries;
    },
  };
}
