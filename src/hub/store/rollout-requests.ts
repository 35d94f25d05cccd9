// What a person asked of the rollout controller through a hub that does not lead (issue 15): a
// new rollout, or a command on one. Several hubs share the store; only the leader's controller
// writes rollouts (fenced by its lease term), so the API of any other hub stores the request as a
// record of its own and the leader takes it (rollouts/rollout-controller.ts). The record is the
// person's intent, durable before they are answered: a leader that dies right after loses nothing
// (the next one takes it), and a deposed leader cannot use it to write (taking it is fenced).
import * as z from 'zod';
import { isoTimeSchema, objectNameSchema, rolloutCommandSchema, rolloutSpecSchema } from '../../protocol/index.js';

export const rolloutRequestSchema = z.strictObject({
  /** Sorts in the order asked: milliseconds since the epoch (13 digits), then a random part. */
  id: z.string().regex(/^\d{13}-[0-9a-f-]{36}$/, 'must be <ms>-<uuid>'),
  rollout: objectNameSchema,
  at: isoTimeSchema,
  request: z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('create'), spec: rolloutSpecSchema }),
    z.strictObject({ type: z.literal('command'), command: rolloutCommandSchema }),
  ]),
});
export type RolloutRequestRecord = z.infer<typeof rolloutRequestSchema>;

/**
 * The requests waiting for the leader, in a store several hubs share (absent from a store one
 * hub owns: that hub always leads and its controller takes the request itself).
 */
export interface RolloutRequestQueue {
  /** Durable before it resolves. */
  add(request: RolloutRequestRecord): Promise<void>;
  /** Every waiting request, oldest first; records that do not check apart (the leader logs and drops them). */
  list(): Promise<{ requests: RolloutRequestRecord[]; unreadable: { id: string; problem: string }[] }>;
  has(id: string): Promise<boolean>;
  /** Taken: fenced in the controllers' view (a deposed leader takes nothing). */
  remove(id: string): Promise<void>;
}
