// A read-only image registry on loopback for tests that must see a real pull: it serves one
// image (exported from the local engine with `docker save`) under a name and tag, speaking just
// enough of the registry HTTP API (v2: ping, manifest, blobs) for dockerd to pull it. dockerd
// talks plain HTTP to registries on 127.0.0.0/8 without configuration. Requests are counted, so
// a test can tell when the image was pulled.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { docker } from './docker.js';

const exec = promisify(execFile);
const digestOf = (bytes: Buffer): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export interface LocalRegistry {
  /** host:port, the prefix of image references served here. */
  readonly host: string;
  /** Manifest requests so far (HEAD or GET): every pull makes at least one. */
  manifestRequests(): number;
  close(): Promise<void>;
}

/** Serves `source` (an image in the local engine) as `<host>/<name>:<tag>`; `dir` is scratch space. */
export async function startLocalRegistry(source: string, name: string, tag: string, dir: string): Promise<LocalRegistry> {
  const archive = join(dir, 'image.tar');
  await docker('save', '-o', archive, source);
  await exec('tar', ['-xf', archive, '-C', dir]);
  const saved = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
  const entry = saved[0];
  if (entry === undefined) throw new Error(`docker save of ${source} has no manifest`);
  const blobs = new Map<string, Buffer>();
  const config = await readFile(join(dir, entry.Config));
  blobs.set(digestOf(config), config);
  const layers: { mediaType: string; size: number; digest: string }[] = [];
  for (const path of entry.Layers) {
    const gz = gzipSync(await readFile(join(dir, path)));
    blobs.set(digestOf(gz), gz);
    layers.push({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: gz.length, digest: digestOf(gz) });
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.length, digest: digestOf(config) },
      layers,
    }),
  );
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const url = req.url ?? '';
    const send = (status: number, body: Buffer, type: string, digest?: string): void => {
      res.writeHead(status, { 'content-type': type, 'content-length': body.length, 'docker-distribution-api-version': 'registry/2.0', ...(digest ? { 'docker-content-digest': digest } : {}) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (url === '/v2/' || url === '/v2') return send(200, Buffer.from('{}'), 'application/json');
    if (url === `/v2/${name}/manifests/${tag}` || url === `/v2/${name}/manifests/${digestOf(manifest)}`) {
      requests += 1;
      return send(200, manifest, 'application/vnd.docker.distribution.manifest.v2+json', digestOf(manifest));
    }
    const blob = url.startsWith(`/v2/${name}/blobs/`) ? blobs.get(url.slice(`/v2/${name}/blobs/`.length)) : undefined;
    if (blob !== undefined) return send(200, blob, 'application/octet-stream', url.slice(`/v2/${name}/blobs/`.length));
    send(404, Buffer.from('{"errors":[{"code":"NOT_FOUND"}]}'), 'application/json');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    manifestRequests: () => requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
