import type { FastifyInstance } from 'fastify';
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import type { Logger } from '../../../common/log.js';
import { describeIssues, firmwareKeyAddSchema, firmwareUploadSchema, sha256Schema, type FirmwareManifestEnvelope } from '../../../protocol/index.js';
import { byteRange } from '../../firmware/byte-range.js';
import { firmwareView, type FirmwareStore } from '../../firmware/firmware-store.js';
import type { TrustedKeys } from '../../firmware/trusted-keys.js';
import { checkUpload } from '../../firmware/upload-check.js';
import type { DeviceRepository } from '../../store/repository.js';
import { deviceOrAdmin } from '../device-auth.js';
import { badRequest, HttpError, notFound } from '../http-error.js';

export interface FirmwareRouteDeps {
  store: FirmwareStore;
  keys: TrustedKeys;
  devices: DeviceRepository;
  adminTokenHash: string;
  now: () => Date;
  log: Logger;
}

/** Paths devices use with their own credentials; the admin-token hook lets them through and the routes check. */
export const FIRMWARE_DEVICE_PATHS = ['/v1/firmware/manifest', '/v1/firmware/download'] as const;

const shaQuery = z.object({ sha256: sha256Schema });

/** Upload (admin), list, trusted keys, and the manifest and image downloads gateways use. */
export function registerFirmwareRoutes(app: FastifyInstance, deps: FirmwareRouteDeps): void {
  app.post('/v1/firmware', async (request, reply) => {
    const body = firmwareUploadSchema.safeParse(request.body);
    if (!body.success) throw badRequest(`firmware upload: ${describeIssues(body.error.issues)}`);
    const upload = body.data;
    const sameVersion = deps.store.findVersion(upload.manifest.target, upload.manifest.version);
    const verdict = checkUpload(upload, deps.keys.pems(), sameVersion?.manifest.sha256);
    if (!verdict.ok) throw new HttpError(verdict.status, verdict.status === 409 ? 'Conflict' : 'BadRequest', verdict.message);
    const entry = { manifest: upload.manifest, signature: upload.signature, uploadedAt: deps.now().toISOString() };
    const stored = await deps.store.put(entry, verdict.bytes);
    const view = firmwareView(deps.store.get(upload.manifest.sha256) ?? entry);
    if (stored === 'created') deps.log.info(`firmware ${view.target} ${view.version} stored as ${view.sha256}`);
    return reply.status(stored === 'created' ? 201 : 200).send(view);
  });

  app.get('/v1/firmware', async () => ({ items: deps.store.list().map(firmwareView) }));

  app.get('/v1/firmware/keys', async () => ({ items: deps.keys.list() }));

  app.post('/v1/firmware/keys', async (request, reply) => {
    const body = firmwareKeyAddSchema.safeParse(request.body);
    if (!body.success) throw badRequest('body must be {publicKeyPem: string}');
    try {
      return reply.status(201).send(await deps.keys.add(body.data.publicKeyPem));
    } catch (err) {
      if (err instanceof TypeError) throw badRequest(err.message);
      throw err;
    }
  });

  app.get('/v1/firmware/manifest', async (request) => {
    await deviceOrAdmin(request.headers.authorization, deps.adminTokenHash, deps.devices);
    const entry = deps.store.get(parseSha(request.query));
    if (!entry) throw notFound('firmware image');
    const envelope: FirmwareManifestEnvelope = { manifest: entry.manifest, signature: entry.signature };
    return envelope;
  });

  app.get('/v1/firmware/download', async (request, reply) => {
    await deviceOrAdmin(request.headers.authorization, deps.adminTokenHash, deps.devices);
    const sha = parseSha(request.query);
    const entry = deps.store.get(sha);
    if (!entry) throw notFound('firmware image');
    const size = entry.manifest.size;
    const range = byteRange(request.headers.range, size);
    void reply.header('accept-ranges', 'bytes').header('etag', `"${sha}"`);
    if (range.kind === 'unsatisfiable') {
      return reply.status(416).header('content-range', `bytes */${size}`).send({ error: 'RangeNotSatisfiable', message: `the image has ${size} bytes` });
    }
    void reply.header('content-type', 'application/octet-stream');
    if (range.kind === 'whole') {
      return reply.status(200).header('content-length', size).send(createReadStream(deps.store.imagePath(sha)));
    }
    return reply
      .status(206)
      .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
      .header('content-length', range.end - range.start + 1)
      .send(createReadStream(deps.store.imagePath(sha), { start: range.start, end: range.end }));
  });
}

function parseSha(query: unknown): string {
  const parsed = shaQuery.safeParse(query);
  if (!parsed.success) throw badRequest('query must be ?sha256=<64 hex digits>');
  return parsed.data.sha256;
}
