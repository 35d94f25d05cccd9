import fc from 'fast-check';

const number = (max: number) => fc.integer({ min: 0, max }).map(String);
function tokenFor(max: number, extra: fc.Arbitrary<string>[]): fc.Arbitrary<string> {
  const value = fc.oneof(number(max), ...extra);
  return fc.oneof(
    fc.constant('*'),
    value,
    fc.tuple(value, value).map(([a, b]) => `${a}-${b}`),
    fc.tuple(value, value, number(max)).map(([a, b, s]) => `${a}-${b}/${s}`),
    number(max).map((s) => `*/${s}`),
    fc.constantFrom('?', 'L', 'W', '5/2', '', '**', '1-2-3'),
  );
}
const list = (token: fc.Arbitrary<string>) => fc.array(token, { minLength: 1, maxLength: 3 }).map((xs) => xs.join(','));
const monthNames = fc.constantFrom('jan', 'FEB', 'March', 'dec', 'sept', 'mon');
const dayNames = fc.constantFrom('sun', 'MON', 'Friday', 'sat', 'jan');
const domSpecial = fc.oneof(fc.constantFrom('L', 'LW', 'l', 'lw'), number(35).map((n) => `${n}W`), number(33).map((n) => `L-${n}`));
const dowSpecial = fc.oneof(fc.tuple(fc.oneof(number(9), dayNames), number(6)).map(([d, k]) => `${d}#${k}`), fc.oneof(number(9), dayNames).map((d) => `${d}L`));

/** Expressions in the documented grammar, valid and invalid (out-of-range values, bad steps, stray tokens). */
export const cronExpression = fc
  .tuple(
    fc.option(list(tokenFor(65, [])), { nil: undefined }),
    list(tokenFor(65, [])),
    list(tokenFor(26, [])),
    fc.oneof(list(tokenFor(33, [domSpecial])), fc.constant('?')),
    list(tokenFor(14, [monthNames])),
    fc.oneof(list(tokenFor(9, [dayNames, dowSpecial])), fc.constant('?')),
  )
  .map(([s, ...rest]) => (s === undefined ? rest : [s, ...rest]).join(' '));


const inRange = (min: number, max: number) => fc.integer({ min, max });
function validToken(min: number, max: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant('*') },
    { weight: 3, arbitrary: inRange(min, max).map(String) },
    { weight: 2, arbitrary: fc.tuple(inRange(min, max), inRange(min, max)).map(([a, b]) => `${a}-${b}`) },
    { weight: 1, arbitrary: fc.tuple(inRange(min, max), inRange(min, max), inRange(1, max)).map(([a, b, s]) => `${a}-${b}/${s}`) },
    { weight: 2, arbitrary: inRange(1, max).map((s) => `*/${s}`) },
  );
}
const validList = (token: fc.Arbitrary<string>) => fc.array(token, { minLength: 1, maxLength: 3 }).map((xs) => xs.join(','));
const validDomSpecial = fc.oneof(fc.constantFrom('L', 'LW'), inRange(1, 31).map((n) => `${n}W`), inRange(1, 30).map((n) => `L-${n}`));
const validDowSpecial = fc.oneof(fc.tuple(inRange(0, 7), inRange(1, 5)).map(([d, k]) => `${d}#${k}`), inRange(0, 7).map((d) => `${d}L`));

/** Expressions node-cron and we both accept (a few impossible dates are filtered out). */
export const validCronExpression = fc
  .tuple(
    fc.option(validList(validToken(0, 59)), { nil: undefined, freq: 4 }),
    validList(validToken(0, 59)),
    validList(validToken(0, 23)),
    validList(fc.oneof({ weight: 4, arbitrary: validToken(1, 31) }, { weight: 1, arbitrary: validDomSpecial })),
    validList(fc.oneof(validToken(1, 12), fc.constantFrom('jan', 'Feb', 'DEC'))),
    validList(fc.oneof({ weight: 4, arbitrary: validToken(0, 7) }, { weight: 1, arbitrary: validDowSpecial }, { weight: 1, arbitrary: fc.constantFrom('mon-fri', 'SAT', 'sun') })),
  )
  .map(([s, ...rest]) => (s === undefined ? rest : [s, ...rest]).join(' '));

/** Zones with gaps and repeats of 1 h, 30 min, at midnight (Santiago), and none. */
export const zone = fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata', 'America/Santiago', 'Pacific/Chatham');

/** 2026 DST changes of those zones (UTC instants). */
const transitions2026: readonly [string, string][] = [
  ['Europe/Berlin', '2026-03-29T01:00:00Z'],
  ['Europe/Berlin', '2026-10-25T01:00:00Z'],
  ['America/New_York', '2026-03-08T07:00:00Z'],
  ['America/New_York', '2026-11-01T06:00:00Z'],
  ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
  ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
  ['America/Santiago', '2026-04-05T03:00:00Z'],
  ['America/Santiago', '2026-09-06T04:00:00Z'],
];
const anyInstant = fc.integer({ min: Date.parse('2000-01-01T00:00:00Z') / 1000, max: Date.parse('2040-01-01T00:00:00Z') / 1000 }).map((s) => s * 1000);
/** A zone and a whole-second instant, half the time within two days of one of that zone's DST changes. */
export const zoneAndInstant: fc.Arbitrary<[string, number]> = fc.oneof(
  fc.tuple(zone, anyInstant),
  fc.tuple(fc.constantFrom(...transitions2026), fc.integer({ min: -2 * 86_400, max: 2 * 86_400 })).map(([[z, t], s]): [string, number] => [z, Date.parse(t) + s * 1000]),
);
