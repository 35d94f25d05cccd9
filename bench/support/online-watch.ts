// Follows `GET /v1/devices?watch=true` and notes when the hub saw each device online again:
// state online with a status sent after `since` (each connection sends a fresh one), so the
// stale "online" a SIGKILLed hub left in its store does not count.
import type { BenchHub } from './hub-process.js';

export interface OnlineWatch {
  /** Devices seen online again, with the epoch ms at which the hub said so. */
  readonly onlineAt: Map<string, number>;
  close(): void;
}

export async function watchOnlineSince(hub: BenchHub, since: number): Promise<OnlineWatch> {
  const onlineAt = new Map<string, number>();
  const abort = new AbortController();
  const response = await fetch(`${hub.apiUrl}/v1/devices?watch=true`, { headers: { authorization: `Bearer ${hub.adminToken}` }, signal: abort.signal });
  if (!response.ok || !response.body) throw new Error(`watch: ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffered = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffered += value;
        let newline: number;
        while ((newline = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, newline);
          buffered = buffered.slice(newline + 1);
          if (!line.trim()) continue;
          const { object } = JSON.parse(line) as { object: { id: string; state: string; stateSince?: string } };
          if (object.state === 'online' && object.stateSince && Date.parse(object.stateSince) >= since && !onlineAt.has(object.id)) onlineAt.set(object.id, Date.now());
        }
      }
    } catch {
      // closed
    }
  })();
  return { onlineAt, close: () => abort.abort() };
}
