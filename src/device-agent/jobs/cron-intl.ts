/**
 * The `Intl` that node-cron sees inside the agent's bundle (scripts/bundle-agent.mjs binds node-cron's
 * module-level `Intl` to {@link cronIntl}; node_modules is not changed, and outside the bundle, in tests
 * and in the hub, node-cron uses the real one).
 *
 * Why: node-cron reads the time of every tick through `Intl.DateTimeFormat#formatToParts`, and the first
 * `Intl.DateTimeFormat` a process builds, of any kind, makes ICU load its locale and zone data: ~8 MB
 * of resident memory (4.7 MB of ICU pages in the node binary, ~1.5 MB of malloc, the rest code) that
 * stays for the life of the agent. The agent's ticker asks node-cron for UTC (which zone a
 * once-a-second ticker runs in does not matter; the ledger decides slots in each CronJob's own zone),
 * and UTC's wall clock is plain arithmetic, which `Date`'s UTC getters do without ICU.
 *
 * Only the exact formatters node-cron 4 builds are imitated, for `en-US` and `timeZone: 'UTC'`, in the
 * years 1583–9999 (before 1583 ICU's calendar is Julian, `Date`'s is not). Anything else (another
 * zone, other options, a date outside those years) goes to the real `Intl`, so a newer node-cron that
 * asks for something else still gets correct answers, only without the saving. The unit test compares
 * every part with the real `Intl` output.
 */

type Parts = Intl.DateTimeFormatPart[];

/** node-cron's "parts" formatter (time fields of a tick), without its timeZone. */
const TICK_OPTIONS: Readonly<Record<string, string | boolean>> = {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  weekday: 'short',
  hour12: false,
};
/** node-cron's offset formatter (the `GMT±h` of a tick, for its ISO strings), without its timeZone. */
const OFFSET_OPTIONS: Readonly<Record<string, string | boolean>> = { timeZoneName: 'shortOffset' };

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const FIRST = Date.UTC(1583, 0, 1);
const END = Date.UTC(10000, 0, 1);

function sameOptions(given: Record<string, unknown>, wanted: Readonly<Record<string, string | boolean>>): boolean {
  const keys = Object.keys(given).filter((k) => k !== 'timeZone');
  return keys.length === Object.keys(wanted).length && keys.every((k) => given[k] === wanted[k]);
}

const two = (n: number): string => String(n).padStart(2, '0');
const lit = (value: string): Intl.DateTimeFormatPart => ({ type: 'literal', value });

/** `Thu, 01/01/1970, 24:00:00` as en-US writes it with `hour12: false` (midnight is hour 24, as ICU does). */
function tickParts(d: Date): Parts {
  return [
    { type: 'weekday', value: WEEKDAYS[d.getUTCDay()]! },
    lit(', '),
    { type: 'month', value: two(d.getUTCMonth() + 1) },
    lit('/'),
    { type: 'day', value: two(d.getUTCDate()) },
    lit('/'),
    { type: 'year', value: String(d.getUTCFullYear()) },
    lit(', '),
    { type: 'hour', value: two(d.getUTCHours() === 0 ? 24 : d.getUTCHours()) },
    lit(':'),
    { type: 'minute', value: two(d.getUTCMinutes()) },
    lit(':'),
    { type: 'second', value: two(d.getUTCSeconds()) },
  ];
}

/** `1/1/1970, GMT+0`. */
function offsetParts(d: Date): Parts {
  return [
    { type: 'month', value: String(d.getUTCMonth() + 1) },
    lit('/'),
    { type: 'day', value: String(d.getUTCDate()) },
    lit('/'),
    { type: 'year', value: String(d.getUTCFullYear()) },
    lit(', '),
    { type: 'timeZoneName', value: 'GMT+0' },
  ];
}

/** A UTC formatter by arithmetic; the real one is built only if a call needs it. */
class ArithmeticUtcFormat {
  private real: Intl.DateTimeFormat | undefined;

  constructor(
    private readonly locale: string,
    private readonly options: Intl.DateTimeFormatOptions,
    private readonly parts: (d: Date) => Parts,
  ) {}

  formatToParts(date?: Date | number): Parts {
    const d = date === undefined ? new Date() : new Date(date);
    const t = d.getTime();
    if (t >= FIRST && t < END) return this.parts(d);
    return this.realFormat().formatToParts(d);
  }

  format(date?: Date | number): string {
    return this.formatToParts(date)
      .map((p) => p.value)
      .join('');
  }

  resolvedOptions(): Intl.ResolvedDateTimeFormatOptions {
    return this.realFormat().resolvedOptions();
  }

  private realFormat(): Intl.DateTimeFormat {
    this.real ??= new Intl.DateTimeFormat(this.locale, this.options);
    return this.real;
  }
}

/** `new DateTimeFormat(locale, options)`: arithmetic for node-cron's UTC formatters, the real Intl otherwise. */
function DateTimeFormat(locale?: string | string[], options?: Intl.DateTimeFormatOptions): Intl.DateTimeFormat | ArithmeticUtcFormat {
  if (locale === 'en-US' && options?.timeZone === 'UTC') {
    const given = options as Record<string, unknown>;
    if (sameOptions(given, TICK_OPTIONS)) return new ArithmeticUtcFormat(locale, options, tickParts);
    if (sameOptions(given, OFFSET_OPTIONS)) return new ArithmeticUtcFormat(locale, options, offsetParts);
  }
  return new Intl.DateTimeFormat(locale, options);
}

/** Stands in for the global `Intl` inside node-cron's bundled module: our DateTimeFormat, every other member the real one's. */
export const cronIntl = Object.create(Intl, { DateTimeFormat: { value: DateTimeFormat } }) as typeof Intl;
