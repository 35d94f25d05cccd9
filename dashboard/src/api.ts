// The dashboard's only way to the hub: its HTTP API with the person's token, as the CLI uses it.
const TOKEN_KEY = 'edgepilot.token';

export type Role = 'admin' | 'operator' | 'viewer';
export interface Identity {
  name: string;
  role: Role;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const session = {
  get token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = session.token;
  return { ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra };
}

async function failure(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => ({}))) as { error?: string; message?: string };
  return new ApiError(response.status, body.error ?? String(response.status), body.message ?? response.statusText);
}

export async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, { method: 'POST', headers: headers({ 'content-type': 'application/json' }), body: JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/**
 * Follows one of the hub's newline-delimited JSON streams (device watch, telemetry) with the
 * token in a header, which EventSource cannot send. Returns a function that stops it.
 */
export function followNdjson<T>(path: string, onItem: (item: T) => void, onEnd?: (error?: unknown) => void): () => void {
  const controller = new AbortController();
  void (async () => {
    try {
      const response = await fetch(path, { headers: headers(), signal: controller.signal });
      if (!response.ok || !response.body) throw await failure(response);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += value;
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) if (line.trim() !== '') onItem(JSON.parse(line) as T);
      }
      onEnd?.();
    } catch (err) {
      if (!controller.signal.aborted) onEnd?.(err);
    }
  })();
  return () => controller.abort();
}
