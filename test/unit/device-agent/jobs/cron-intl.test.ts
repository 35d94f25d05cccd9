// node-cron inside the agent's bundle reads UTC ticks without ICU (issue 11, a lean agent): the
// stand-in must answer exactly as the real Intl does, hand everything else to it, and the bundle
// must really give node-cron the stand-in (a UTC ticker builds no real Intl.DateTimeFormat at all).
import test from 'ava';
import fc from 'fast-check';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import cron from 'node-cron';
import { cronIntl } from '../../../../src/device-agent/jobs/cron-intl.js';

const TICK = { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short', hour12: false } as const;
const OFFSET = { timeZoneName: 'shortOffset' } as const;
const FROM_1583 = Date.UTC(1583, 0, 1);
const UNTIL_10000 = Date.UTC(10000, 0, 1) - 1;

const instants = fc.oneof(
  fc.integer({ min: FROM_1583, max: UNTIL_10000 }),
  // Midnights and the seconds around them: en-US with hour12:false writes midnight as hour 24.
  fc.integer({ min: -141_714, max: 2_932_896 }).chain((day) => fc.integer({ min: -2000, max: 2000 }).map((ms) => day * 86_400_000 + ms)),
);

test('the UTC tick formatter gives the real Intl parts, midnight (hour 24) and leap days included', (t) => {
  const ours = new cronIntl.DateTimeFormat('en-US', { ...TICK, timeZone: 'UTC' });
  const real = new Intl.DateTimeFormat('en-US', { ...TICK, timeZone: 'UTC' });
  fc.assert(
    fc.property(instants, (ms) => {
      t.deepEqual(ours.formatToParts(new Date(ms)), real.formatToParts(new Date(ms)), new Date(ms).toISOString());
    }),
    { numRuns: 3000, seed: 11 },
  );
  t.deepEqual(ours.formatToParts(Date.UTC(2028, 1, 29, 0, 0, 0)), real.formatToParts(Date.UTC(2028, 1, 29, 0, 0, 0)));
  t.is(ours.format(Date.UTC(2026, 10, 30, 0, 0, 7)), real.format(Date.UTC(2026, 10, 30, 0, 0, 7)));
});

test('the UTC offset formatter gives the real Intl parts', (t) => {
  const ours = new cronIntl.DateTimeFormat('en-US', { ...OFFSET, timeZone: 'UTC' });
  const real = new Intl.DateTimeFormat('en-US', { ...OFFSET, timeZone: 'UTC' });
  fc.assert(
    fc.property(instants, (ms) => {
      t.deepEqual(ours.formatToParts(new Date(ms)), real.formatToParts(new Date(ms)));
    }),
    { numRuns: 1000, seed: 12 },
  );
});

test('dates outside 1583–9999, other zones, locales and options go to the real Intl', (t) => {
  const realOf = (locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat => new Intl.DateTimeFormat(locale, options);
  const cases: [string, Intl.DateTimeFormatOptions, number][] = [
    ['en-US', { ...TICK, timeZone: 'UTC' }, Date.UTC(1200, 5, 1, 12)], // Julian in ICU
    ['en-US', { ...TICK, timeZone: 'UTC' }, Date.UTC(12000, 0, 1)],
    ['en-US', { ...TICK, timeZone: 'Europe/Berlin' }, Date.UTC(2026, 6, 1, 22)],
    ['en-US', { ...TICK }, Date.UTC(2026, 6, 1, 22)],
    ['de-DE', { ...TICK, timeZone: 'UTC' }, Date.UTC(2026, 6, 1, 22)],
    ['en-US', { ...TICK, hour12: true, timeZone: 'UTC' }, Date.UTC(2026, 6, 1, 22)],
    ['en-US', { ...OFFSET, timeZone: 'America/New_York' }, Date.UTC(2026, 6, 1, 22)],
  ];
  for (const [locale, options, ms] of cases) {
    t.deepEqual(new cronIntl.DateTimeFormat(locale, options).formatToParts(ms), realOf(locale, options).formatToParts(ms), `${locale} ${JSON.stringify(options)} ${ms}`);
  }
  t.is(cronIntl.NumberFormat, Intl.NumberFormat, 'the other members are the real ones');
});

/** What a node-cron task answers about fixed instants: its next matches after `from` (the walk) and whether each probe matches. */
type NodeCronLike = { createTask(expression: string, fn: () => void, options: { timezone: string }): { match(d: Date): boolean; destroy(): void } };
function answers(lib: NodeCronLike, expression: string, from: Date, probes: Date[]): { next: number[]; matches: boolean[] } {
  const task = lib.createTask(expression, () => undefined, { timezone: 'UTC' });
  // node-cron's walker is not public API; its task keeps it as timeMatcher.
  const matcher = (task as unknown as { timeMatcher: { getNextMatch(d: Date): Date } }).timeMatcher;
  const next: number[] = [];
  let at = from;
  for (let i = 0; i < 6; i++) next.push((at = matcher.getNextMatch(at)).getTime());
  const matches = probes.map((p) => task.match(p));
  task.destroy();
  return { next, matches };
}

test("the agent bundle's node-cron runs a UTC task without building any real Intl.DateTimeFormat, and answers as node-cron proper", async (t) => {
  const agentDir = new URL('../../../../agent/', import.meta.url);
  const chunk = readdirSync(fileURLToPath(agentDir)).find((f) => /^node-cron-[A-Z0-9]+\.mjs$/.test(f));
  if (chunk === undefined) return t.fail(`no node-cron chunk in ${fileURLToPath(agentDir)}: run npm run build`);
  const bundled = ((await import(new URL(chunk, agentDir).href)) as { default: NodeCronLike }).default;
  const expression = '15 */5 0,3-4 * * *';
  const from = new Date(Date.UTC(2026, 10, 30, 23, 58, 3));
  const probes = [Date.UTC(2026, 11, 1, 0, 0, 15), Date.UTC(2026, 11, 1, 0, 5, 15), Date.UTC(2026, 11, 1, 3, 6, 15), Date.UTC(2026, 11, 1, 4, 55, 15), Date.UTC(2026, 11, 1, 4, 55, 16)].map((ms) => new Date(ms));
  const expected = answers(cron as unknown as NodeCronLike, expression, from, probes);

  const realDateTimeFormat = Intl.DateTimeFormat;
  let built = 0;
  Intl.DateTimeFormat = function (...args: ConstructorParameters<typeof Intl.DateTimeFormat>) {
    built += 1;
    return new realDateTimeFormat(...args);
  } as unknown as typeof Intl.DateTimeFormat;
  let ours: { next: number[]; matches: boolean[] };
  try {
    ours = answers(bundled, expression, from, probes);
  } finally {
    Intl.DateTimeFormat = realDateTimeFormat;
  }
  t.is(built, 0, 'no real Intl.DateTimeFormat was built');
  t.deepEqual(ours, expected);
  t.deepEqual(expected.matches, [true, true, false, true, false]);
});
