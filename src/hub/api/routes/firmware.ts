import type { FastifyInstance } from 'fastify';
import { createReadStream } from 'node:fs';
import * as z from 'zod';
import type { Logger } from '../../../common/log.js';
import {
  describeIssues,
  firmwareKeyAddSchema,
  firmwareKeyIdSchema,
  firmwareUploadSchema,
  sha256Schema,
  type FirmwareImageView,
  type FirmwareKeyRemoved,
  type FirmwareManifestEnvelope,
  type FirmwareUploadResult,
} from '../../../protocol/index.js';
import { byteRange } from '../../firmware/byte-range.js';
import { FirmwareVersionTakenError, firmwareView, type FirmwareStore, type StoredFirmware } from '../../firmware/firmware-store.js';
import { TrustedKeyError, type TrustedKeys } from '../../firmware/trusted-keys.js';
import { checkUpload } from '../../firmware/upload-check.js';
import type { DeviceRepository } from '../../store/repository.js';
import { deviceOrAdmin } from '../device-auth.js';
import { badRequest, HttpError, notFound } from '../http-error.js';

export interface FirmwareRouteDeps {
  store: FirmwareStore;
  keys: TrustedKeys;
  devices: DeviceRepository;
  adminTokenHash: string;
  /** A person's API token with the read permission may download too (roles/access-control.ts). */
  personMayRead?: (header: string | undefined) => boolean;
  now: () => Date;
  log: Logger;
}

/** Paths devices use with their own credentials; the admin-token hook lets them through and the routes check. */
export const FIRMWARE_DEVICE_PATHS = ['/v1/firmware/manifest', '/v1/firmware/download', '/v1/firmware/delta'] as const;

const shaQuery = z.object({ sha256: sha256Schema });
const deltaQuery = z.object({ from: sha256Schema, to: sha256Schema });
/** The media type of a BSDF2 patch (src/firmware/delta); gateways check it before applying. */
export const DELTA_CONTENT_TYPE = 'application/x-bsdf2';

/** Upload (admin), list, trusted keys, and the manifest and image downloads gateways use. */
export function registerFirmwareRoutes(app: FastifyInstance, deps: FirmwareRouteDeps): void {
  const view = (entry: StoredFirmware): FirmwareImageView => firmwareView(entry, deps.keys.has(entry.signature.keyId));

  // Uploads are checked and stored one at a time: two concurrent uploads must not both pass
  // the "one image per target version, one target version per image" check.
  let uploadQueue: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = uploadQueue.then(work, work);
    uploadQueue = turn.catch(() => undefined);
    return turn;
  };

  app.post('/v1/firmware', async (request, reply) => {
    const body = firmwareUploadSchema.safeParse(request.body);
    if (!body.success) throw badRequest(`firmware upload: ${describeIssues(body.error.issues)}`);
    const upload = body.data;
    const { manifest } = upload;
    const result = await oneAtATime(async (): Promise<FirmwareUploadResult> => {
      const verdict = checkUpload(upload, deps.keys.pems(), {
        sameImage: deps.store.get(manifest.sha256),
        sameVersionSha: deps.store.findVersion(manifest.target, manifest.version)?.manifest.sha256,
        isTrusted: (keyId) => deps.keys.has(keyId),
      });
      if (!verdict.ok) throw new HttpError(verdict.status, verdict.status === 409 ? 'Conflict' : 'BadRequest', verdict.message);
      const entry: StoredFirmware = { manifest, signature: upload.signature, uploadedAt: deps.now().toISOString() };
      let outcome: FirmwareUploadResult['outcome'] = 'unchanged';
      if (verdict.action === 'store') {
        // Another hub may have stored another image for this target version since the check.
        await deps.store.put(entry, verdict.bytes).catch((err: unknown) => {
          throw err instanceof FirmwareVersionTakenError ? new HttpError(409, 'Conflict', err.message) : err;
        });
        outcome = 'stored';
      } else if (verdict.action === 're-sign') {
        await deps.store.replaceManifest(entry);
        outcome = 're-signed';
      }
      const stored = deps.store.get(manifest.sha256) ?? entry;
      return { ...view(stored), outcome };
    });
    if (result.outcome !== 'unchanged') deps.log.info(`firmware ${result.target} ${result.version} ${result.outcome} as ${result.sha256} (key ${result.keyId})`);
    return reply.status(result.outcome === 'stored' ? 201 : 200).send(result);
  });

  app.get('/v1/firmware', async () => ({ items: deps.store.list().map(view) }));

  app.get('/v1/firmware/keys', async () => ({ items: deps.keys.list() }));

  app.post('/v1/firmware/keys', async (request, reply) => {
    const body = firmwareKeyAddSchema.safeParse(request.body);
    if (!body.success) throw badRequest(`trusted key: ${describeIssues(body.error.issues)}`);
    const known = deps.keys.list().length;
    try {
      const key = await deps.keys.add(body.data.publicKeyPem, deps.now());
      const added = deps.keys.list().length > known;
      if (added) deps.log.info(`firmware key ${key.keyId} trusted`);
      return reply.status(added ? 201 : 200).send(key);
    } catch (err) {
      if (err instanceof TrustedKeyError) throw badRequest(err.message);
      throw err;
    }
  });

  app.delete('/v1/firmware/keys/:keyId', async (request) => {
    const params = z.object({ keyId: firmwareKeyIdSchema }).safeParse(request.params);
    if (!params.success) throw badRequest(`key id: ${describeIssues(params.error.issues)}`);
    const { keyId } = params.data;
    try {
      await deps.keys.remove(keyId);
    } catch (err) {
      if (err instanceof TrustedKeyError) {
        throw err.code === 'unknown-key' ? new HttpError(404, 'NotFound', err.message) : new HttpError(409, 'Conflict', err.message);
      }
      throw err;
    }
    const orphaned = deps.store.list().filter((f) => f.signature.keyId === keyId);
    deps.log.info(`firmware key ${keyId} no longer trusted; ${orphaned.length} stored image(s) signed by it are no longer served`);
    const removed: FirmwareKeyRemoved = {
      keyId,
      imagesNoLongerServed: orphaned.map((f) => ({ sha256: f.manifest.sha256, target: f.manifest.target, version: f.manifest.version })),
    };
    return removed;
  });

  app.get('/v1/firmware/manifest', async (request) => {
    await deviceOrAdmin(request.headers.authorization, deps.adminTokenHash, deps.devices, deps.personMayRead);
    const entry = servable(deps, parseSha(request.query));
    const envelope: FirmwareManifestEnvelope = { manifest: entry.manifest, signature: entry.signature };
    return envelope;
  });

  app.get('/v1/firmware/download', async (request, reply) => {
    await deviceOrAdmin(request.headers.authorization, deps.adminTokenHash, deps.devices, deps.personMayRead);
    const sha = parseSha(request.query);
    const entry = servable(deps, sha);
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
  registerDeltaRoute(app, deps);
}

/**
 * `GET /v1/firmware/delta?from=<held>&to=<wanted>`: a BSDF2 patch from an image the gateway
 * holds to one it may fetch, for gateways on metered links. Anything but a 200 means
 * "fetch the whole image" to the gateway; the message says why.
 */
function registerDeltaRoute(app: FastifyInstance, deps: FirmwareRouteDeps): void {
  app.get('/v1/firmware/delta', async (request, reply) => {
    await deviceOrAdmin(request.headers.authorization, deps.adminTokenHash, deps.devices, deps.personMayRead);
    const query = deltaQuery.safeParse(request.query);
    if (!query.success) throw badRequest('query must be ?from=<sha256 of the image held>&to=<sha256 of the image wanted> (64 hex digits each)');
    const { from, to } = query.data;
    if (from === to) throw badRequest('from and to name the same image: there is nothing to fetch');
    const wanted = servable(deps, to);
    const held = deps.store.get(from);
    if (!held) throw new HttpError(404, 'NotFound', `the hub does not hold the base image ${from.slice(0, 12)}: fetch the whole image`);
    if (held.manifest.target.toLowerCase() !== wanted.manifest.target.toLowerCase()) {
      throw new HttpError(409, 'Conflict', `the base image is for ${held.manifest.target}, the wanted one for ${wanted.manifest.target}`);
    }
    const delta = await deps.store.delta(from, to);
    if (delta.length >= wanted.manifest.size) {
      throw new HttpError(409, 'Conflict', `a delta from ${held.manifest.version} is no smaller than the image (${delta.length} ≥ ${wanted.manifest.size} bytes): fetch the whole image`);
    }
    return reply
      .status(200)
      .header('content-type', DELTA_CONTENT_TYPE)
      .header('content-length', delta.length)
      .header('etag', `"${from}-${to}"`)
      .send(Buffer.from(delta.buffer, delta.byteOffset, delta.length));
  });
}

/**
 * A stored image the hub still hands to gateways: one whose signer it trusts. After
 * `firmware untrust` the image stays in the store (trusting the key again, or pushing the
 * same image signed by a trusted key, makes it servable again) but gateways cannot fetch it.
 */
function servable(deps: FirmwareRouteDeps, sha: string): StoredFirmware {
  const entry = deps.store.get(sha);
  if (!entry) throw notFound('firmware image');
  const { keyId } = entry.signature;
  if (!deps.keys.has(keyId)) {
    throw new HttpError(409, 'Conflict', `${entry.manifest.target} ${entry.manifest.version} (${sha.slice(0, 12)}) is signed by key ${keyId}, which this hub no longer trusts`);
  }
  return entry;
}

function parseSha(query: unknown): string {
  const parsed = shaQuery.safeParse(query);
  if (!parsed.success) throw badRequest('query must be ?sha256=<64 hex digits>');
  return parsed.data.sha256;
}
