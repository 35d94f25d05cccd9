import * as z from 'zod';
import type { InstanceRuntime, LogLine } from '../runtime/runtime.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import type { RpcHandler } from './rpc-server.js';

const logsParams = z.object({
  workload: z.string().min(1),
  tail: z.number().int().min(0).max(100_000).default(100),
  follow: z.boolean().default(false),
});

const restartParams = z.object({ workload: z.string().min(1) });

/** Lines are sent in batches: one MQTT message per line would flood the hub on `logs -f`. */
const BATCH_MS = 100;
const BATCH_LINES = 500;

export function workloadHandlers(reconciler: Reconciler, runtimes: { container?: InstanceRuntime; process?: InstanceRuntime }): Record<'logs' | 'restart', RpcHandler> {
  return {
    async restart(params) {
      const { workload } = restartParams.parse(params);
      const instances = await reconciler.requestRestart(workload);
      if (instances.length === 0) throw new Error(`no instance of workload ${workload} on this device`);
      return { instances };
    },

    async logs(params, io) {
      const { workload, tail, follow } = logsParams.parse(params);
      const instances = reconciler.instancesOf(workload);
      if (instances.length === 0) throw new Error(`no instance of workload ${workload} on this device`);
      let batch: { instance: string; stream: string; text: string }[] = [];
      const flush = (): void => {
        if (batch.length > 0) io.send({ lines: batch });
        batch = [];
      };
      const timer = setInterval(flush, BATCH_MS);
      try {
        await Promise.all(
          instances.map(async (instance) => {
            const runtime = runtimes[instance.runtime];
            if (!runtime) return;
            for await (const line of runtime.logs(instance.id, { tail, follow, signal: io.signal }) as AsyncIterable<LogLine>) {
              batch.push({ instance: instance.id, stream: line.stream, text: line.text });
              if (batch.length >= BATCH_LINES) flush();
            }
          }),
        );
      } catch (err) {
        if (!io.signal.aborted) throw err;
      } finally {
        clearInterval(timer);
        flush();
      }
      return undefined;
    },
  };
}
