import * as z from 'zod';
import type { Logger } from '../../common/log.js';
import { describeIssues, rpcRequestSchema, type RpcRequest, type RpcResponse } from '../../protocol/index.js';
import { errorMessage } from '../../common/errors.js';

/** A handler answers once (return value) or streams (send), and stops when `signal` aborts. */
export type RpcHandler = (params: Record<string, unknown>, io: { send(result: unknown): void; signal: AbortSignal }) => Promise<unknown>;

/** Longest a streaming call (logs -f, flash) may run before the agent ends it. */
const MAX_STREAM_MS = 60 * 60 * 1000;

/**
 * The device side of request/response over MQTT: validates each request, drops expired ones
 * (a technician who gave up must not get a late restart), runs the handler and sends the
 * answers on `rpc/res/<id>` with a sequence number; `cancel` stops a stream.
 */
export class RpcServer {
  private readonly running = new Map<string, AbortController>();

  constructor(
    private readonly handlers: Partial<Record<RpcRequest['method'], RpcHandler>>,
    private readonly respond: (correlationId: string, response: RpcResponse) => Promise<void>,
    private readonly now: () => number,
    private readonly log: Logger,
  ) {}

  async handle(payload: Buffer): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch {
      return this.log.warn('dropped rpc request: not JSON');
    }
    const parsed = rpcRequestSchema.safeParse(raw);
    if (!parsed.success) return this.log.warn(`dropped rpc request: ${describeIssues(parsed.error.issues)}`);
    const request = parsed.data;
    const deadline = Date.parse(request.deadline);
    if (deadline < this.now()) return this.log.warn(`dropped rpc ${request.method} ${request.id}: past its deadline`);
    if (request.method === 'cancel') {
      const target = z.object({ target: z.string() }).safeParse(request.params);
      if (target.success) this.running.get(target.data.target)?.abort(new Error('cancelled'));
      return this.respond(request.id, { id: request.id, seq: 0, done: true, ok: true });
    }
    const handler = this.handlers[request.method];
    if (!handler) return this.respond(request.id, { id: request.id, seq: 0, done: true, ok: false, error: `this agent does not handle ${request.method}` });
    const controller = new AbortController();
    this.running.set(request.id, controller);
    const limit = setTimeout(() => controller.abort(new Error('stream limit reached')), Math.max(deadline - this.now(), MAX_STREAM_MS));
    let seq = 0;
    const send = (result: unknown): void => {
      void this.respond(request.id, { id: request.id, seq: seq++, done: false, ok: true, result }).catch(() => undefined);
    };
    try {
      const result = await handler(request.params, { send, signal: controller.signal });
      await this.respond(request.id, { id: request.id, seq: seq++, done: true, ok: true, ...(result !== undefined ? { result } : {}) });
    } catch (err) {
      const error = err instanceof z.ZodError ? describeIssues(err.issues) : errorMessage(err);
      await this.respond(request.id, { id: request.id, seq: seq++, done: true, ok: false, error: error.slice(0, 2000) });
    } finally {
      clearTimeout(limit);
      this.running.delete(request.id);
    }
  }

  stop(): void {
    for (const c of this.running.values()) c.abort(new Error('agent stopping'));
  }
}
