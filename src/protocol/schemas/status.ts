import * as z from 'zod';
import { isoTimeSchema } from './common.js';

/**
 * Retained on `ep/v1/d/<id>/status`. The agent sets an "offline" copy as its last will
 * (MQTT 3.1.1 §3.1.2.5) so that the broker announces a lost connection for it.
 * `sessionId` is new for every connection: a will that arrives after the device already
 * reconnected belongs to an older session and must not mark it offline.
 */
export const statusSchema = z.strictObject({
  state: z.enum(['online', 'offline']),
  reason: z.enum(['connected', 'shutdown', 'connection-lost']),
  agentVersion: z.string().max(64),
  bootId: z.string().max(64),
  sessionId: z.string().max(64),
  since: isoTimeSchema,
});
export type DeviceStatus = z.infer<typeof statusSchema>;
