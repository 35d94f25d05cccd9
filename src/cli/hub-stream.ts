/**
 * POST with an NDJSON answer (flash progress). HubClient.stream only GETs, so this sends
 * the request itself, with the same configuration, auth and one-line errors.
 */
import { apiErrorSchema } from '../protocol/index.js';
import type { ResolvedConfig } from './config.js';
import { CliError } from './errors.js';

export async function* postNdjson(config: ResolvedConfig, path: string, body: unknown): AsyncGenerator<unknown> {
  let response: Response;
  try {
    response = await fetch(`${config.hubUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(config.token ? { authorization: `Bearer ${config.token}` } : {}) },
      body: JSON.stringify(body),
    });
  } catch (err) {
    const cause = (err as Error).cause;
    const why = cause instanceof Error ? ((cause as NodeJS.ErrnoException).code ?? cause.message) : (err as Error).message;
    throw new CliError(`cannot reach hub at ${config.hubUrl} (${why})`);
  }
  if (!response.ok) {
    const apiError = apiErrorSchema.safeParse(await response.json().catch(() => undefined));
    throw new CliError(apiError.success ? apiError.data.message : `${response.status} ${response.statusText}`);
  }
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line !== '') yield JSON.parse(line) as unknown;
    }
  }
}
