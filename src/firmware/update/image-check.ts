/**
 * Verifying a flash without reading it back: the application answers IDENTIFY with the
 * CRC-32 of the first N bytes of its flash (PROTOCOL.md, IDENTIFY flags), which the
 * gateway compares with the CRC-32 of the image it wrote. Firmware without the check
 * answers ERROR bad-length; the caller then verifies by reading back through AN3155.
 */
import type { Clock } from '../clock.js';
import { crc32 } from '../image/crc32.js';
import type { ByteLink } from '../link/byte-link.js';
import type { Identity } from '../mculink/messages.js';
import type { McuSession } from '../mculink/mcu-session.js';
import { McuSession as Session } from '../mculink/mcu-session.js';
import { McuRequestError } from '../mculink/request-matcher.js';

/** PROTOCOL.md error code 2: the firmware does not take a payload with IDENTIFY. */
const BAD_LENGTH = 2;

/** IDENTIFY asking for the image check; plain IDENTIFY if the firmware refuses the flags. */
export async function identifyWithCheck(session: McuSession, imageCheckLength: number | undefined): Promise<Identity> {
  if (imageCheckLength === undefined) return session.identify();
  try {
    return await session.identify({ imageCheckLength });
  } catch (err) {
    if (err instanceof McuRequestError && err.code === BAD_LENGTH) return session.identify();
    throw err;
  }
}

export type CheckVerdict = { readonly kind: 'match' } | { readonly kind: 'mismatch'; readonly why: string } | { readonly kind: 'unavailable' };

/** Does the MCU's reported check cover `expected` and agree with it? */
export function judgeImageCheck(identity: Identity, expected: Uint8Array): CheckVerdict {
  const check = identity.imageCheck;
  if (check === undefined) return { kind: 'unavailable' };
  if (check.length !== expected.length) return { kind: 'mismatch', why: `the MCU checked ${check.length} bytes, the image has ${expected.length}` };
  const want = crc32(expected);
  if (check.crc32 !== want) return { kind: 'mismatch', why: `CRC-32 of the flash is ${hex(check.crc32)}, of the image ${hex(want)}` };
  return { kind: 'match' };
}

/**
 * Before a page-by-page update: does the running application's flash still hold the kept
 * image (nobody flashed it otherwise)? Asked of the application, so nothing is touched.
 */
export async function runningImageIs(access: { link: ByteLink; clock: Clock }, kept: Uint8Array): Promise<boolean> {
  await access.link.setParity?.('none');
  const session = new Session({ link: access.link, clock: access.clock, requestTimeoutMs: 1000, retries: 1 });
  try {
    return judgeImageCheck(await identifyWithCheck(session, kept.length), kept).kind === 'match';
  } catch {
    return false;
  } finally {
    session.close();
  }
}

function hex(n: number): string {
  return `0x${n.toString(16).toUpperCase().padStart(8, '0')}`;
}
