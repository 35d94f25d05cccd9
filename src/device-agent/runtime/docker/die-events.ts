import type Dockerode from 'dockerode';
import type { Logger } from '../../../common/log.js';
import { errorMessage } from '../../../common/errors.js';
import { LABEL_INSTANCE, ownedLabelFilter } from './naming.js';

export interface DieEvent {
  instanceId: string;
  containerId: string;
  exitCode: number | undefined;
}

/** Closes a response stream; dockerode types them as NodeJS.ReadableStream, which lacks destroy. */
export function destroyStream(stream: NodeJS.ReadableStream): void {
  const maybe = stream as NodeJS.ReadableStream & { destroy?: () => void };
  if (typeof maybe.destroy === 'function') maybe.destroy();
}

function parseDieEvent(line: string): (DieEvent & { timeNano: bigint }) | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const event = raw as { Action?: unknown; Actor?: { ID?: unknown; Attributes?: Record<string, unknown> } };
  const attributes = event.Actor?.Attributes ?? {};
  const instanceId = attributes[LABEL_INSTANCE];
  if (event.Action !== 'die' || typeof instanceId !== 'string') return undefined;
  const exitCode = Number(attributes['exitCode']);
  return {
    instanceId,
    containerId: typeof event.Actor?.ID === 'string' ? event.Actor.ID : '',
    exitCode: Number.isInteger(exitCode) ? exitCode : undefined,
    // Read from the text: nanoseconds since 1970 exceed a double's exact integer range.
    timeNano: BigInt(/"timeNano":(\d+)/.exec(line)?.[1] ?? '0'),
  };
}

const abortableDelay = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });

/**
 * Follows Docker's event stream for `die` events of this device's containers, so an exit is seen
 * at once instead of on the next poll. The stream ends when dockerd restarts or the socket drops;
 * it is then reopened with `since` = the last event seen, so exits in the gap are replayed
 * rather than lost (an event replayed twice only costs the reconciler one extra pass).
 */
export function watchDieEvents(docker: Dockerode, deviceId: string, log: Logger, onDie: (event: DieEvent) => void): { close(): void } {
  const stop = new AbortController();
  // Seconds resolution: events of the current second may be replayed; timeNano filters them.
  let sinceSeconds = Math.floor(Date.now() / 1000);
  let lastTimeNano = 0n;

  const run = async (): Promise<void> => {
    let backoffMs = 500;
    while (!stop.signal.aborted) {
      try {
        const stream = await docker.getEvents({
          since: sinceSeconds,
          filters: { type: ['container'], event: ['die'], label: ownedLabelFilter(deviceId) },
          abortSignal: stop.signal,
        });
        const onAbort = (): void => destroyStream(stream);
        stop.signal.addEventListener('abort', onAbort, { once: true });
        backoffMs = 500;
        let pending = '';
        try {
          for await (const chunk of stream) {
            const lines = (pending + chunk.toString()).split('\n');
            pending = lines.pop() ?? '';
            for (const line of lines) {
              const event = parseDieEvent(line);
              if (event === undefined || (event.timeNano !== 0n && event.timeNano <= lastTimeNano)) continue;
              lastTimeNano = event.timeNano;
              sinceSeconds = Number(event.timeNano / 1_000_000_000n);
              onDie(event);
            }
          }
        } finally {
          stop.signal.removeEventListener('abort', onAbort);
        }
        if (!stop.signal.aborted) log.warn('Docker event stream ended; reconnecting');
      } catch (err) {
        if (stop.signal.aborted) return;
        log.warn(`Docker event stream failed (${errorMessage(err)}); reconnecting in ${backoffMs} ms`);
      }
      await abortableDelay(backoffMs, stop.signal);
      backoffMs = Math.min(backoffMs * 2, 30_000);
    }
  };
  void run();
  return { close: () => stop.abort() };
}
