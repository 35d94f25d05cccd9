import { randomBytes } from 'node:crypto';
import type { Logger } from '../../common/log.js';
import { decodePayload, payloadLimits, rpcResponseSchema, topics, type RpcMethod, type RpcRequest } from '../../protocol/index.js';
import { toError } from '../../common/errors.js';

interface Pending {
  deviceId: string;
  onResult(result: unknown): void;
  settle(err: Error | undefined, final?: unknown): void;
  firstAnswer: NodeJS.Timeout;
}

export interface CallOptions {
  /** How long to wait for the device's first answer. */
  timeoutMs?: number;
  /** Partial results of a streaming call (logs -f, flash progress). */
  onResult?(result: unknown): void;
  /** Aborting sends `cancel` to the device. */
  signal?: AbortSignal;
}

export class DeviceRpcError extends Error {}

/**
 * The hub side of request/response over MQTT: a correlation id per call, answers matched on
 * `rpc/res/<id>`, a deadline the device honours, and `cancel` when the caller goes away.
 */
export class DeviceRpc {
  private readonly pending = new Map<string, Pending>();

  constructor(
    private readonly publish: (topic: string, payload: unknown) => Promise<void>,
    private readonly isOnline: (deviceId: string) => Promise<boolean>,
    private readonly log: Logger,
  ) {}

  async call(deviceId: string, method: RpcMethod, params: Record<string, unknown>, options: CallOptions = {}): Promise<unknown> {
    if (!(await this.isOnline(deviceId))) throw new DeviceRpcError(`device ${deviceId} is offline`);
    const timeoutMs = options.timeoutMs ?? 10_000;
    const id = randomBytes(12).toString('base64url');
    const request: RpcRequest = { id, method, params, deadline: new Date(Date.now() + Math.max(timeoutMs, 3_600_000)).toISOString() };
    return new Promise<unknown>((resolve, reject) => {
      const settle = (err: Error | undefined, final?: unknown): void => {
        const entry = this.pending.get(id);
        if (!entry) return;
        clearTimeout(entry.firstAnswer);
        this.pending.delete(id);
        if (err) reject(err);
        else resolve(final);
      };
      const firstAnswer = setTimeout(() => settle(new DeviceRpcError(`device ${deviceId} did not answer ${method} within ${timeoutMs / 1000} s`)), timeoutMs);
      this.pending.set(id, { deviceId, onResult: (r) => options.onResult?.(r), settle, firstAnswer });
      options.signal?.addEventListener(
        'abort',
        () => {
          settle(new DeviceRpcError('cancelled'));
          void this.publish(topics.rpcRequest(deviceId), { id: randomBytes(12).toString('base64url'), method: 'cancel', params: { target: id }, deadline: new Date(Date.now() + 60_000).toISOString() } satisfies RpcRequest).catch(() => undefined);
        },
        { once: true },
      );
      this.publish(topics.rpcRequest(deviceId), request).catch((err: unknown) => settle(toError(err)));
    });
  }

  /** An answer from a device; only the device a call went to can answer it. */
  onResponse(deviceId: string, correlationId: string, payload: Buffer): void {
    const entry = this.pending.get(correlationId);
    if (!entry) return;
    if (entry.deviceId !== deviceId) return this.log.warn(`device ${deviceId} answered a call made to ${entry.deviceId}; ignored`);
    const decoded = decodePayload(rpcResponseSchema, payload, payloadLimits.rpcResponse);
    if (!decoded.ok) return this.log.warn(`dropped rpc answer from ${deviceId}: ${decoded.error}`);
    const response = decoded.value;
    clearTimeout(entry.firstAnswer);
    if (!response.ok) return entry.settle(new DeviceRpcError(`${deviceId}: ${response.error ?? 'failed'}`));
    if (!response.done) return entry.onResult(response.result);
    entry.settle(undefined, response.result);
  }
}
