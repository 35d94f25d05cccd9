// The agent's ICU-free Date#toISOString (issue 11, a lean agent) must answer exactly as the native one:
// the same string for every valid time value, the same errors otherwise.
import test from 'ava';
import fc from 'fast-check';
import { installIcuFreeToISOString, isoString } from '../../../src/device-agent/iso-dates.js';

const MAX = 8.64e15;
const native = Date.prototype.toISOString;

test('the same string as the native toISOString for every time value, six-digit years and their signs included', (t) => {
  const edges = [0, -1, 1, MAX, -MAX, Date.UTC(9999, 11, 31, 23, 59, 59, 999), Date.UTC(10000, 0, 1), Date.UTC(0, 0, 1) - 1, Date.UTC(-1, 0, 1), Date.UTC(2028, 1, 29, 12)];
  for (const ms of edges) t.is(isoString(new Date(ms)), native.call(new Date(ms)), String(ms));
  fc.assert(
    fc.property(fc.oneof(fc.integer({ min: -MAX, max: MAX }), fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2200, 0, 1) })), (ms) => {
      t.is(isoString(new Date(ms)), native.call(new Date(ms)));
    }),
    { numRuns: 5000, seed: 7 },
  );
});

test('an invalid date is a RangeError and a receiver that is not a Date a TypeError, as natively', (t) => {
  t.is(t.throws(() => isoString(new Date(Number.NaN)), { instanceOf: RangeError })?.message, t.throws(() => native.call(new Date(Number.NaN)))?.message);
  t.throws(() => isoString({} as Date), { instanceOf: TypeError });
});

test('installed, it is what Date#toISOString and JSON.stringify use, with the native property attributes', (t) => {
  const before = Object.getOwnPropertyDescriptor(Date.prototype, 'toISOString')!;
  installIcuFreeToISOString();
  t.teardown(() => Object.defineProperty(Date.prototype, 'toISOString', before));
  const after = Object.getOwnPropertyDescriptor(Date.prototype, 'toISOString')!;
  t.not(after.value, before.value);
  t.like(after, { writable: before.writable, enumerable: before.enumerable, configurable: before.configurable });
  const at = new Date(Date.UTC(2026, 10, 30, 22, 5, 9, 42));
  t.is(at.toISOString(), '2026-11-30T22:05:09.042Z');
  t.is(JSON.stringify({ at }), '{"at":"2026-11-30T22:05:09.042Z"}');
});
