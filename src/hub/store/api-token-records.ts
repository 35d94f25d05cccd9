// People's API tokens as stored (issue 13), and where they are kept: a file of the hub's own, or
// the store several hubs share (issue 15), so that a token made or revoked at one hub holds at all.
import * as z from 'zod';
import { readFileIfExists, writeFileDurably } from '../../common/durable-file.js';
import { isoTimeSchema, nameSchema, roleSchema } from '../../protocol/index.js';

/** A stored person's token: only the hash of its secret is kept. */
export const apiTokenRecordSchema = z.object({
  name: nameSchema,
  role: roleSchema,
  description: z.string(),
  secretHash: z.string().regex(/^[a-f0-9]{64}$/),
  createdAt: isoTimeSchema,
  createdBy: z.string(),
  expiresAt: isoTimeSchema.optional(),
  revokedAt: isoTimeSchema.optional(),
});
export type ApiTokenRecord = z.infer<typeof apiTokenRecordSchema>;
const fileSchema = z.object({ tokens: z.array(apiTokenRecordSchema) });

/**
 * The contract (test/support/api-token-contract.ts runs it on both):
 * - `change` reads the stored record of `name` (undefined: none), stores what `change` returns,
 *   and resolves once that is durable. If `change` throws, nothing is stored and the error passes
 *   on. Changes of one name are atomic, across hubs where the store is shared: two hubs creating
 *   the same name at once see each other's, one after the other.
 * - `list` returns every record, copies.
 */
export interface ApiTokenRepository {
  list(): Promise<ApiTokenRecord[]>;
  change(name: string, change: (current: ApiTokenRecord | undefined) => ApiTokenRecord): Promise<ApiTokenRecord>;
  /** Other hubs change it too: a reader's copy must be refreshed (see ApiTokens). */
  readonly shared: boolean;
}

/** One small file written durably on each change (creations and revocations are rare). */
export async function fileApiTokenRepository(path: string): Promise<ApiTokenRepository> {
  const text = await readFileIfExists(path);
  let records = new Map<string, ApiTokenRecord>();
  if (text !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${path} is damaged (${parsed.error.issues[0]?.message ?? 'invalid'}); fix or delete it (every person's token is then lost)`);
    for (const record of parsed.data.tokens) records.set(record.name, record);
  }
  let queue: Promise<unknown> = Promise.resolve();
  return {
    shared: false,
    list: async () => [...records.values()].map((r) => ({ ...r })),
    change: (name, change) => {
      // One at a time, each from the last one's result; the new set is in use once on disk.
      const run = queue.then(async () => {
        const current = records.get(name);
        const next = apiTokenRecordSchema.parse(change(current && { ...current }));
        const all = new Map(records).set(name, next);
        await writeFileDurably(path, `${JSON.stringify({ tokens: [...all.values()] }, null, 2)}\n`);
        records = all;
        return { ...next };
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}
