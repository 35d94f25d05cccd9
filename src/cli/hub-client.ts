import type { z } from 'zod';
import { apiErrorSchema, describeIssues } from '../protocol/index.js';
import { CliError } from './errors.js';
import type { ResolvedConfig } from './config.js';
import { fetchTrustingCa } from '../common/tls-trust.js';
import { errnoCode, errorMessage } from '../common/errors.js';

/** TLS verification failures carry OpenSSL's codes (node:tls); anything else is a network problem. */
function isCertificateRefusal(cause: unknown): boolean {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS_CERT_ALTNAME/.test(code);
}

/** The CLI's only way to the hub: its HTTP API. Every answer is checked against the protocol schema. */
export class HubClient {
  /** fetch() verifying the hub against the configured CA (the global one trusts the system's CAs only). */
  private readonly fetch: typeof fetch;

  constructor(private readonly config: ResolvedConfig) {
    this.fetch = config.ca && config.hubUrl.startsWith('https:') ? fetchTrustingCa(config.ca) : globalThis.fetch;
  }

  get hubUrl(): string {
    return this.config.hubUrl;
  }

  async request<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.output<S>> {
    const response = await this.send(method, path, body);
    const json = await this.readJson(response, path);
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new CliError(`hub sent an unexpected answer to ${method} ${path}: ${describeIssues(parsed.error.issues)}`);
    return parsed.data;
  }

  /** A streaming request (watch, logs, flash progress): yields one parsed JSON value per line. */
  async *stream(path: string, method = 'GET', body?: unknown): AsyncGenerator<unknown> {
    const response = await this.send(method, path, body);
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

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.config.token) headers['authorization'] = `Bearer ${this.config.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetch(`${this.config.hubUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      const cause = err instanceof Error ? err.cause : undefined;
      const why = cause instanceof Error ? (errnoCode(cause) ?? cause.message) : errorMessage(err);
      if (isCertificateRefusal(cause)) {
        throw new CliError(
          `the hub at ${this.config.hubUrl} presented a certificate this CLI does not trust (${why}); ` +
            `run 'edgepilot login --hub ${this.config.hubUrl} --ca-fingerprint <sha256 the hub printed>' once`,
        );
      }
      throw new CliError(`cannot reach hub at ${this.config.hubUrl} (${why})`);
    }
    if (response.ok) return response;
    const json = await response.json().catch(() => undefined);
    const apiError = apiErrorSchema.safeParse(json);
    const message = apiError.success ? apiError.data.message : `${response.status} ${response.statusText}`;
    if (response.status === 401 && !this.config.token) {
      throw new CliError(`${message} (no token configured; the hub printed one on first start)`);
    }
    throw new CliError(message);
  }

  private async readJson(response: Response, path: string): Promise<unknown> {
    try {
      return await response.json();
    } catch {
      throw new CliError(`hub answered ${path} with something that is not JSON`);
    }
  }
}
