/**
 * `Date.prototype.toISOString` without ICU, for the agent process only (installed by src/agent-main.ts).
 *
 * Why: in Node 20's V8, the native `toISOString` (and so `JSON.stringify` of a Date) goes through the
 * same code as `Date.prototype.toString`, which asks ICU for the host's time zone and its display
 * name: the first call makes ICU load its zone-name tables, ~0.9 MB of resident memory an agent keeps
 * for good, although an ISO string is UTC and needs none of it. The agent writes ISO times in every
 * log line, status message and record, so that call always comes. This one reads the UTC fields
 * (which need no zone) and writes the format ECMA-262 defines (§21.4.4.36): `YYYY-MM-DDTHH:mm:ss.sssZ`,
 * six-digit signed years outside 0–9999, RangeError "Invalid time value" for an invalid date,
 * TypeError for a receiver that is not a Date. The unit test compares it with the native one.
 */

const getTime = Date.prototype.getTime;
const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** What the native `toISOString` returns for `date`, computed from its UTC fields. */
export function isoString(date: Date): string {
  const time = getTime.call(date); // TypeError for a non-Date receiver, as the native one
  if (Number.isNaN(time)) throw new RangeError('Invalid time value');
  const year = date.getUTCFullYear();
  const yyyy = year >= 0 && year <= 9999 ? pad(year, 4) : `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
  return `${yyyy}-${pad(date.getUTCMonth() + 1, 2)}-${pad(date.getUTCDate(), 2)}T${pad(date.getUTCHours(), 2)}:${pad(date.getUTCMinutes(), 2)}:${pad(date.getUTCSeconds(), 2)}.${pad(date.getUTCMilliseconds(), 3)}Z`;
}

/** Replaces `Date.prototype.toISOString` in this process (same property attributes as the native one). */
export function installIcuFreeToISOString(): void {
  Object.defineProperty(Date.prototype, 'toISOString', {
    value: function toISOString(this: Date): string {
      return isoString(this);
    },
    writable: true,
    enumerable: false,
    configurable: true,
  });
}
