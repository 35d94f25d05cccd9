// An HTTP proxy between a gateway agent and the hub, for tests of what the gateway does
// with what it is sent: it forwards everything unchanged unless told to tamper with the
// next firmware manifest (signature) or image download (a flipped byte, or a connection
// cut half way, to exercise the resumable download), or the next delta (a flipped byte);
// it can also refuse every delta request, so a test exercises the whole-image download.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Tamper = 'none' | 'signature' | 'image-byte' | 'cut-download' | 'delta-byte';

export interface TamperingProxy {
  readonly url: string;
  /** Applies to the next matching response only, then goes back to 'none'. */
  tamperNext(kind: Tamper): void;
  /** Downloads seen, with the Range header each carried ('' for none). */
  readonly downloads: string[];
  /** Body bytes sent to the gateway for image downloads and for deltas. */
  readonly bytesSent: { image: number; delta: number };
  /** While on, every delta request is answered 404 (as by a hub without the base image). */
  refuseDeltas(on: boolean): void;
  close(): Promise<void>;
}

export async function startTamperingProxy(target: string): Promise<TamperingProxy> {
  const upstream = new URL(target);
  let pending: Tamper = 'none';
  let refusingDeltas = false;
  const downloads: string[] = [];
  const bytesSent = { image: 0, delta: 0 };
  const server = http.createServer((request, response) => {
    const path = request.url ?? '/';
    const isManifest = path.startsWith('/v1/firmware/manifest');
    const isDownload = path.startsWith('/v1/firmware/download');
    const isDelta = path.startsWith('/v1/firmware/delta');
    if (isDownload) downloads.push(String(request.headers.range ?? ''));
    if (isDelta && refusingDeltas) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'NotFound', message: 'deltas refused by the test proxy' }));
      return;
    }
    const tamper =
      (isManifest && pending === 'signature') || (isDownload && (pending === 'image-byte' || pending === 'cut-download')) || (isDelta && pending === 'delta-byte') ? pending : 'none';
    if (tamper !== 'none') pending = 'none';
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path, headers: { ...request.headers, host: upstream.host } },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () => {
          let body = Buffer.concat(chunks);
          const headers = { ...answer.headers };
          if (tamper === 'signature') {
            const envelope = JSON.parse(body.toString('utf8')) as { signature: { value: string } };
            const raw = Buffer.from(envelope.signature.value, 'base64');
            raw[10] = (raw[10] ?? 0) ^ 0x01; // still 64 bytes, no longer the signer's
            envelope.signature.value = raw.toString('base64');
            body = Buffer.from(JSON.stringify(envelope));
            headers['content-length'] = String(body.length);
          }
          if (tamper === 'image-byte' && body.length > 64) {
            body = Buffer.from(body);
            body[64] = (body[64] ?? 0) ^ 0xff;
          }
          if (tamper === 'delta-byte' && body.length > 40) {
            body = Buffer.from(body);
            body[body.length - 5] = (body[body.length - 5] ?? 0) ^ 0xff; // inside the brotli extra stream
          }
          if (isDownload && (answer.statusCode === 200 || answer.statusCode === 206)) bytesSent.image += tamper === 'cut-download' ? Math.floor(body.length / 2) : body.length;
          if (isDelta && answer.statusCode === 200) bytesSent.delta += body.length;
          response.writeHead(answer.statusCode ?? 502, headers);
          if (tamper === 'cut-download') {
            // Half the image, then the connection drops, as a flaky uplink does.
            // The pause lets the bytes reach the client before the reset (a reset in the same
            // instant can make the client drop what it had buffered).
            response.write(body.subarray(0, Math.floor(body.length / 2)), () => setTimeout(() => response.destroy(), 300));
            return;
          }
          response.end(body);
        });
      },
    );
    forward.on('error', () => response.destroy());
    request.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    downloads,
    bytesSent,
    tamperNext(kind) {
      pending = kind;
    },
    refuseDeltas(on) {
      refusingDeltas = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
