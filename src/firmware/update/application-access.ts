/**
 * Talking to the MCU's application around a flash, whatever its loader: waiting for it to
 * identify after it was started, and pausing on the injected clock.
 */
import type { Clock } from '../clock.js';
import type { ByteLink } from '../link/byte-link.js';
import type { Identity } from '../mculink/messages.js';
import { McuSession } from '../mculink/mcu-session.js';
import { identifyWithCheck } from './image-check.js';

/**
 * After Go: ask IDENTIFY until the application answers or `timeoutMs` passes. A firmware
 * that boots but never identifies (or does not boot) counts as silent.
 */
export async function awaitIdentity(access: { readonly link: ByteLink; readonly clock: Clock }, timeoutMs: number, imageCheckLength?: number): Promise<Identity | undefined> {
  const { clock } = access;
  await access.link.setParity?.('none');
  const session = new McuSession({ link: access.link, clock, requestTimeoutMs: 300, retries: 0 });
  const deadline = clock.now() + timeoutMs;
  try {
    while (clock.now() < deadline && !session.isClosed) {
      try {
        return await identifyWithCheck(session, imageCheckLength);
      } catch {
        await pause(clock, 200);
      }
    }
    return undefined;
  } finally {
    session.close();
  }
}

export function pause(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}
