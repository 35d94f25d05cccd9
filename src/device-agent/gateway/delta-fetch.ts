/**
 * Getting a firmware image for a gateway on a metered link: from the image it keeps for the
 * MCU (kept-images.ts), ask the hub for a BSDF2 delta to the wanted image, patch, and check
 * the result against the manifest's size and sha256 before anything uses it. Whatever goes
 * wrong — the hub has no delta, the delta is damaged, the result is not the image — the
 * caller fetches the whole image instead; `why` says what happened. The signature is
 * checked afterwards exactly as for a downloaded image (admission.ts).
 */
import { createHash } from 'node:crypto';
import { applyDelta, DeltaError } from '../../firmware/delta/index.js';
import type { KeptImage } from '../../firmware/update/kept-images.js';
import { authHeaders, cachedImage, downloadImage, errorText, keepDownload, type DownloadOptions, type FirmwareSource } from './firmware-fetch.js';
import { errorMessage } from '../../common/errors.js';

export interface WantedImage {
  readonly sha256: string;
  readonly size: number;
}

export type DeltaAttempt =
  | { readonly kind: 'patched'; readonly bytes: Uint8Array; readonly deltaBytes: number }
  /** The hub offered no delta (it lacks the base, or a delta would not be smaller). */
  | { readonly kind: 'unavailable'; readonly why: string }
  /** A delta came but did not make the wanted image. */
  | { readonly kind: 'failed'; readonly why: string; readonly deltaBytes: number };

export type ObtainedImage =
  | { readonly via: 'cache' | 'kept' | 'full'; readonly bytes: Uint8Array; readonly delta?: DeltaAttempt }
  | { readonly via: 'delta'; readonly bytes: Uint8Array; readonly delta: Extract<DeltaAttempt, { kind: 'patched' }>; readonly base: KeptImage };

/**
 * The wanted image from the cheapest place: a complete earlier download, the kept image
 * itself when it is the wanted one, a delta from the kept image, or the whole image.
 */
export async function obtainImage(source: FirmwareSource, wanted: WantedImage, kept: KeptImage | undefined, options: DownloadOptions = {}): Promise<ObtainedImage> {
  const cached = await cachedImage(source, wanted.sha256, wanted.size);
  if (cached !== undefined) return { via: 'cache', bytes: cached };
  if (kept !== undefined && sha256(kept.data) === wanted.sha256) return { via: 'kept', bytes: kept.data };
  let delta: DeltaAttempt | undefined;
  if (kept !== undefined && kept.data.length > 0) {
    delta = await fetchByDelta(source, kept, wanted, options);
    if (delta.kind === 'patched') {
      // Kept like a download so a retry costs nothing; the image is in hand either way.
      await keepDownload(source, wanted.sha256, delta.bytes).catch(() => undefined);
      return { via: 'delta', bytes: delta.bytes, delta, base: kept };
    }
  }
  const bytes = await downloadImage(source, wanted.sha256, wanted.size, options);
  return { via: 'full', bytes, ...(delta ? { delta } : {}) };
}

export async function fetchByDelta(source: FirmwareSource, base: KeptImage, wanted: WantedImage, options: DownloadOptions = {}): Promise<DeltaAttempt> {
  const from = sha256(base.data);
  let response: Response;
  try {
    response = await source.fetch(`${source.hubUrl}/v1/firmware/delta?from=${from}&to=${wanted.sha256}`, { headers: authHeaders(source), ...(options.signal ? { signal: options.signal } : {}) });
  } catch (err) {
    options.signal?.throwIfAborted();
    return { kind: 'unavailable', why: `asking the hub for a delta failed: ${errorMessage(err)}` };
  }
  if (!response.ok) return { kind: 'unavailable', why: `no delta from the kept ${base.version}: ${await errorText(response)}` };
  let patch: Uint8Array;
  try {
    patch = await readLimited(response, wanted.size, options);
  } catch (err) {
    options.signal?.throwIfAborted();
    return { kind: 'failed', why: `the delta download broke off: ${errorMessage(err)}`, deltaBytes: 0 };
  }
  let bytes: Uint8Array;
  try {
    bytes = applyDelta(base.data, patch, { expectedSize: wanted.size });
  } catch (err) {
    if (!(err instanceof DeltaError)) throw err;
    return { kind: 'failed', why: `the delta from ${base.version} does not apply (${err.code}: ${err.message})`, deltaBytes: patch.length };
  }
  if (sha256(bytes) !== wanted.sha256) {
    return { kind: 'failed', why: `the image patched from ${base.version} does not match the manifest's sha256`, deltaBytes: patch.length };
  }
  return { kind: 'patched', bytes, deltaBytes: patch.length };
}

/** The body, refused past `limit` bytes: a delta as large as the image is of no use. */
async function readLimited(response: Response, limit: number, options: DownloadOptions): Promise<Uint8Array> {
  if (!response.body) throw new Error('empty response');
  const announced = Number(response.headers.get('content-length') ?? Number.NaN);
  const total = Number.isSafeInteger(announced) && announced > 0 && announced < limit ? announced : limit;
  const chunks: Uint8Array[] = [];
  let received = 0;
  options.onProgress?.(0, total);
  for await (const chunk of response.body) {
    const bytes = chunk as Uint8Array;
    received += bytes.length;
    if (received >= limit) throw new Error(`the hub sent ${received} bytes or more, no smaller than the ${limit}-byte image`);
    chunks.push(bytes);
    options.onProgress?.(received, Math.max(total, received));
  }
  options.onProgress?.(received, received);
  return new Uint8Array(Buffer.concat(chunks));
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
