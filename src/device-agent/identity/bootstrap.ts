import { bootstrapSchema, validate, type Bootstrap } from '../../protocol/index.js';

/** Asks the hub where its broker is (public endpoint; no credentials needed yet). */
export async function fetchBootstrap(hubUrl: string, signal?: AbortSignal): Promise<Bootstrap> {
  const url = new URL('/v1/bootstrap', hubUrl);
  let response: Response;
  try {
    response = await fetch(url, { signal: signal ?? AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(`cannot reach hub at ${hubUrl}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
  }
  if (!response.ok) throw new Error(`hub at ${hubUrl} answered ${response.status} to ${url.pathname}`);
  const checked = validate(bootstrapSchema, await response.json());
  if (!checked.ok) throw new Error(`hub at ${hubUrl} sent a malformed bootstrap answer: ${checked.error}`);
  return checked.value;
}
