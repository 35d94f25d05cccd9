import * as z from 'zod';

/** Request/response over MQTT (MQTT 5 has response topics; we keep 3.1.1 and put the correlation id in the topic). */
export const rpcMethodSchema = z.enum(['ping', 'logs', 'restart', 'flash', 'telemetry', 'cancel']);
export type RpcMethod = z.infer<typeof rpcMethodSchema>;

export const CORRELATION_ID_PATTERN = /^[A-Za-z0-9_-]{8,64}$/;

export const rpcRequestSchema = z.strictObject({
  id: z.string().regex(CORRELATION_ID_PATTERN),
  method: rpcMethodSchema,
  /** Validated per method by the handler's own schema. */
  params: z.record(z.string(), z.unknown()).default({}),
  /** The agent ignores requests past their deadline: a technician who gave up must not get a late restart. */
  deadline: z.iso.datetime({ offset: true }),
});
export type RpcRequest = z.infer<typeof rpcRequestSchema>;

/** Streaming methods (logs -f, flash progress) send several responses; the last has `done: true`. */
export const rpcResponseSchema = z.strictObject({
  id: z.string().regex(CORRELATION_ID_PATTERN),
  seq: z.number().int().nonnegative(),
  done: z.boolean(),
  ok: z.boolean(),
  result: z.unknown().optional(),
  error: z.string().max(2000).optional(),
});
export type RpcResponse = z.infer<typeof rpcResponseSchema>;
