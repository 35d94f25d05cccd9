import type { FastifyInstance } from 'fastify';
import * as z from 'zod';
import type { DeviceRpc } from '../../rpc/device-rpc.js';
import type { HubStore } from '../../store/repository.js';
import { describeIssues, deviceIdSchema } from '../../../protocol/index.js';
import { badRequest, notFound } from '../http-error.js';
import { checked, nameParam } from '../params.js';
import { errorMessage } from '../../../common/errors.js';

export interface WorkloadOpsDeps {
  store: HubStore;
  rpc: DeviceRpc;
}

const logsQuery = z.object({
  device: deviceIdSchema.optional(),
  tail: z.coerce.number().int().min(0).max(100_000).default(100),
  follow: z.enum(['true', 'false']).default('false'),
});

const logChunk = z.object({ lines: z.array(z.object({ instance: z.string(), stream: z.string(), text: z.string() })) });

/** Devices that were sent an instance of this workload, optionally just one of them. */
async function devicesRunning(store: HubStore, workload: string, device: string | undefined): Promise<string[]> {
  if (!(await store.workloads.get(workload))) throw notFound(`workload ${workload}`);
  const devices = [...(await store.deviceState.allDesired())]
    .filter(([id, desired]) => (device === undefined || id === device) && desired.instances.some((i) => i.workload === workload))
    .map(([id]) => id)
    .sort();
  if (devices.length === 0) throw notFound(device ? `an instance of ${workload} on device ${device}` : `an instance of ${workload}`);
  return devices;
}

/** Logs and restarts, carried to the agents as requests over MQTT. */
export function registerWorkloadOpsRoutes(app: FastifyInstance, deps: WorkloadOpsDeps): void {
  app.post('/v1/workloads/:name/restart', async (request) => {
    const name = nameParam(request.params, 'workload');
    const body = checked(z.strictObject({ device: deviceIdSchema.optional() }), request.body ?? {}, 'body');
    const devices = await devicesRunning(deps.store, name, body.device);
    const results = await Promise.all(
      devices.map(async (device) => {
        try {
          const result = (await deps.rpc.call(device, 'restart', { workload: name })) as { instances?: string[] } | undefined;
          return { device, ok: true, instances: result?.instances ?? [] };
        } catch (err) {
          return { device, ok: false, error: errorMessage(err) };
        }
      }),
    );
    return { results };
  });

  app.get('/v1/workloads/:name/logs', async (request, reply) => {
    const name = nameParam(request.params, 'workload');
    const query = logsQuery.safeParse(request.query);
    if (!query.success) throw badRequest(`query (device?, tail 0..100000, follow true|false): ${describeIssues(query.error.issues)}`);
    const devices = await devicesRunning(deps.store, name, query.data.device);
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    const controller = new AbortController();
    request.raw.on('close', () => controller.abort());
    const write = (value: unknown): void => void out.write(`${JSON.stringify(value)}\n`);
    await Promise.all(
      devices.map((device) =>
        deps.rpc
          .call(device, 'logs', { workload: name, tail: query.data.tail, follow: query.data.follow === 'true' }, {
            signal: controller.signal,
            onResult: (result) => {
              const chunk = logChunk.safeParse(result);
              if (chunk.success) for (const line of chunk.data.lines) write({ device, ...line });
            },
          })
          .catch((err: unknown) => {
            if (!controller.signal.aborted) write({ device, error: errorMessage(err) });
          }),
      ),
    );
    out.end();
  });
}
