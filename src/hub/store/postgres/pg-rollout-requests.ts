// PostgreSQL's queue of rollout requests made through hubs that do not lead (store/rollout-requests.ts).
import { describeIssues } from '../../../protocol/index.js';
import { rolloutRequestSchema, type RolloutRequestQueue, type RolloutRequestRecord } from '../rollout-requests.js';
import type { RecordsDb } from './records-db.js';

const KIND = 'rolloutRequests';

/** `fenced`: the controllers' view, whose `remove` is made under the lease term. */
export function pgRolloutRequestQueue(db: RecordsDb, { fenced = false } = {}): RolloutRequestQueue {
  return {
    add: async (request) => {
      const checked = rolloutRequestSchema.parse(request);
      await db.transaction(async (tx) => {
        await tx.insert(KIND, checked.id, checked);
      });
    },
    list: async () => {
      const requests: RolloutRequestRecord[] = [];
      const unreadable: { id: string; problem: string }[] = [];
      for (const [key, doc] of await db.all(KIND)) {
        const parsed = rolloutRequestSchema.safeParse(doc);
        if (parsed.success) requests.push(parsed.data);
        else unreadable.push({ id: key, problem: describeIssues(parsed.error.issues) });
      }
      return { requests, unreadable };
    },
    has: async (id) => (await db.get(KIND, id)) !== undefined,
    remove: async (id) => {
      await db.transaction((tx) => tx.delete(KIND, [id]), { fenced });
    },
  };
}
