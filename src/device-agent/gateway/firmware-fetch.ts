/**
 * Fetching a firmware image from the hub with the device's own credentials (HTTP basic
 * auth, deviceId:password): the signed manifest first, then the image, resumable with HTTP
 * Range (RFC 9110 §14) into `<sha>.part` so a flaky uplink does not restart from zero.
 * Nothing here is trusted: the flash handler verifies both against its own keys.
 */
import { open, rename, rm, stat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, writeFileDurably } from '../../common/durable-file.js';
import { decodePayload, firmwareManifestEnvelopeSchema, type FirmwareManifestEnvelope } from '../../protocol/index.js';
import { errorMessage } from '../../common/errors.js';

export interface FirmwareSource {
  readonly hubUrl: string;
  readonly deviceId: string;
  readonly password: string;
  readonly fetch: typeof fetch;
  /** Where downloads are kept (the agent's state folder). */
  readonly directory: string;
}

export interface DownloadOptions {
  readonly onProgress?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
  /** Attempts in all, each resuming where the last stopped. Default 5. */
  readonly attempts?: number;
}

const MANIFEST_LIMIT = 16 * 1024;

export async function fetchManifest(source: FirmwareSource, sha256: string, signal?: AbortSignal): Promise<FirmwareManifestEnvelope> {
  const response = await source.fetch(`${source.hubUrl}/v1/firmware/manifest?sha256=${sha256}`, { headers: authHeaders(source), ...(signal ? { signal } : {}) });
  if (!response.ok) throw new Error(`hub refused the manifest of ${sha256.slice(0, 12)}: ${await errorText(response)}`);
  const decoded = decodePayload(firmwareManifestEnvelopeSchema, await response.text(), MANIFEST_LIMIT);
  if (!decoded.ok) throw new Error(`hub sent an invalid manifest: ${decoded.error}`);
  return decoded.value;
}

/** The image bytes, `size` of them, from the cache or the hub. */
export async function downloadImage(source: FirmwareSource, sha256: string, size: number, options: DownloadOptions = {}): Promise<Uint8Array> {
  await ensureDir(source.directory);
  const complete = completePath(source, sha256);
  if ((await sizeOf(complete)) === size) return new Uint8Array(await readFile(complete));
  const part = join(source.directory, `${sha256}.part`);
  const attempts = options.attempts ?? 5;
  let lastError: string | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    options.signal?.throwIfAborted();
    if (attempt > 0) await delay(500 * attempt, options.signal);
    try {
      if (await fetchRest(source, sha256, part, size, options)) {
        await rename(part, complete);
        return new Uint8Array(await readFile(complete));
      }
    } catch (err) {
      if (options.signal?.aborted) throw err;
      lastError = errorMessage(err);
    }
  }
  throw new Error(`downloading ${sha256.slice(0, 12)} failed after ${attempts} attempts: ${lastError ?? 'incomplete'}`);
}

/** The image if an earlier download (or patch) left it complete in the cache. */
export async function cachedImage(source: FirmwareSource, sha256: string, size: number): Promise<Uint8Array | undefined> {
  const complete = completePath(source, sha256);
  if ((await sizeOf(complete)) !== size) return undefined;
  return new Uint8Array(await readFile(complete));
}

/** Keeps an image made another way (patched from a delta) where a download would have put it. */
export async function keepDownload(source: FirmwareSource, sha256: string, bytes: Uint8Array): Promise<void> {
  await ensureDir(source.directory);
  await writeFileDurably(completePath(source, sha256), bytes);
}

/** Forget a download that failed verification, so the next attempt fetches it anew. */
export async function discardDownload(source: FirmwareSource, sha256: string): Promise<void> {
  await rm(completePath(source, sha256), { force: true });
  await rm(join(source.directory, `${sha256}.part`), { force: true });
}

/** One HTTP request for what the part file lacks; true once it holds `size` bytes. */
async function fetchRest(source: FirmwareSource, sha256: string, part: string, size: number, options: DownloadOptions): Promise<boolean> {
  let offset = (await sizeOf(part)) ?? 0;
  if (offset > size) offset = 0;
  if (offset === size) return true;
  const headers = { ...authHeaders(source), ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) };
  const response = await source.fetch(`${source.hubUrl}/v1/firmware/download?sha256=${sha256}`, { headers, ...(options.signal ? { signal: options.signal } : {}) });
  if (response.status === 416) {
    await rm(part, { force: true }); // our part does not fit the hub's image: start over
    throw new Error('hub rejected the resume range');
  }
  if (!response.ok) throw new Error(`hub answered ${response.status}: ${await errorText(response)}`);
  // A 200 to a ranged request means the server sent the whole image: start over.
  if (response.status === 200) offset = 0;
  else if (!contentRangeStartsAt(response.headers.get('content-range'), offset)) throw new Error('hub answered the range request with another range');
  const file = await open(part, offset === 0 ? 'w' : 'a');
  let written = offset;
  try {
    options.onProgress?.(written, size);
    if (!response.body) throw new Error('empty response');
    for await (const chunk of response.body) {
      const bytes = chunk as Uint8Array;
      if (written + bytes.length > size) throw new Error(`hub sent more than the manifest's ${size} bytes`);
      await file.write(bytes);
      written += bytes.length;
      options.onProgress?.(written, size);
    }
    await file.sync();
  } finally {
    await file.close();
  }
  return written === size;
}

function contentRangeStartsAt(header: string | null, offset: number): boolean {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header ?? '');
  return match !== null && Number(match[1]) === offset;
}

export function authHeaders(source: FirmwareSource): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${source.deviceId}:${source.password}`).toString('base64')}` };
}

function completePath(source: FirmwareSource, sha256: string): string {
  return join(source.directory, `${sha256}.bin`);
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

export async function errorText(response: Response): Promise<string> {
  const text = (await response.text().catch(() => '')).slice(0, 300);
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON
  }
  return text || `${response.status} ${response.statusText}`;
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
