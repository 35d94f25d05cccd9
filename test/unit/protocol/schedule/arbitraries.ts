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

