import { connect } from 'node:net';
import { errorMessage } from '../../src/common/errors.js';

/**
 * Polls until `probe` returns a value that is not undefined/false. The timeout only bounds a
 * hung test; tests never assert how long something took.
 */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${errorMessage(lastError)})` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Waits until something accepts TCP connections on 127.0.0.1:`port` (a server the test started). */
export async function waitForPort(what: string, port: number, timeoutMs = 10_000, intervalMs = 100): Promise<void> {
  await waitFor(
    `${what} to accept connections`,
    () =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.on('error', () => resolve(false));
      }),
    timeoutMs,
    intervalMs,
  );
}
