import type { FastifyInstance } from 'fastify';
import type { Logger } from '../../../common/log.js';
import { describeIssues, flashRequestSchema, flashResultSchema, flashRpcUpdateSchema, type FlashStreamLine } from '../../../protocol/index.js';
import type { FirmwareStore } from '../../firmware/firmware-store.js';
import { resolveImage } from '../../mcus/image-resolution.js';
import type { DeviceRpc } from '../../rpc/device-rpc.js';
import type { DeviceRepository } from '../../store/repository.js';
import { badRequest, HttpError, notFound } from '../http-error.js';
import { pathParam } from '../params.js';
import { errorMessage } from '../../../common/errors.js';

export interface McuFlashRouteDeps {
  devices: DeviceRepository;
  firmware: FirmwareStore;
  rpc: DeviceRpc;
  log: Logger;
  /** Told how each flash ended (the hub's metrics). */
  flashEnded?: (outcome: 'succeeded' | 'failed') => void;
}

/** A gateway's first answer (the download starting) comes within seconds; the flash itself may take minutes. */
const FIRST_ANSWER_MS = 15_000;

/**
 * `POST /v1/mcus/<gateway>/<mcu>/flash`: resolve the image, ask the gateway to flash it
 * (RPC `flash`), and stream its progress back as NDJSON until its final word. The flash is
 * not cancelled when the client goes away: stopping half way would force a rollback on
 * hardware because a terminal closed; the outcome stays in the gateway's events.
 */
export function registerMcuFlashRoutes(app: FastifyInstance, deps: McuFlashRouteDeps): void {
  app.post('/v1/mcus/:gateway/:mcu/flash', async (request, reply) => {
    const gateway = pathParam(request.params, 'gateway');
    const mcu = pathParam(request.params, 'mcu');
    const body = flashRequestSchema.safeParse(request.body ?? {});
    if (!body.success) throw badRequest(`flash request: ${describeIssues(body.error.issues)}`);
    const device = await deps.devices.get(gateway);
    if (!device) throw notFound(`gateway ${gateway}`);
    const target = device.facts?.mcus.find((m) => m.id === mcu);
    if (!target) throw notFound(`MCU ${mcu} on ${gateway} (see edgepilot get mcus)`);
    const resolved = resolveImage(body.data.image, target.model, deps.firmware.list());
    if (!resolved.ok) throw new HttpError(404, 'NotFound', resolved.message);
    const { manifest } = resolved.entry;

    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    const write = (line: FlashStreamLine): void => void out.write(`${JSON.stringify(line)}\n`);
    write({ type: 'resolved', gateway, mcu, sha256: manifest.sha256, version: manifest.version, target: manifest.target });
    deps.log.info(`flashing ${gateway}/${mcu} with ${manifest.target} ${manifest.version}${body.data.force ? ' (forced)' : ''}`);
    try {
      const final = await deps.rpc.call(gateway, 'flash', {
        mcu,
        sha256: manifest.sha256,
        force: body.data.force,
        // Only when asked: a gateway from before --unprotect refuses unknown params.
        ...(body.data.unprotect ? { unprotect: true } : {}),
        ...(body.data.verify ? { verify: body.data.verify } : {}),
      }, {
        timeoutMs: FIRST_ANSWER_MS,
        onResult: (result) => {
          const update = flashRpcUpdateSchema.safeParse(result);
          if (update.success) write(update.data);
        },
      });
      const result = flashResultSchema.safeParse(final);
      deps.flashEnded?.(result.success ? 'succeeded' : 'failed');
      write(result.success ? result.data : { type: 'error', message: `${gateway} ended the flash without a result` });
    } catch (err) {
      deps.flashEnded?.('failed');
      write({ type: 'error', message: errorMessage(err) });
    }
    out.end();
  });
}
