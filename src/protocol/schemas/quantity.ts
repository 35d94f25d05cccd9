import * as z from 'zod';

// Two forms of a quantity, kept apart on purpose:
// - what a person writes in a manifest (`cpu: 500m`, `cpu: 0.5`, `memory: 64Mi`), parsed once
//   at the edge (CLI and hub) by the *manifest* schemas below;
// - the canonical form the hub stores, serves and sends to agents: whole numbers in the unit
//   their field is named for (`cpuMillis`, `memoryBytes`). Canonical schemas only validate, so
//   data parsed twice (store → API → CLI, hub → desired document → agent) never changes.
// A transform that is not a no-op on its own output multiplied CPU limits by 1000 (issue 12).

/** 1024 cores: more than any edge device, small enough that a typo (`500` for `500m`) is refused. */
export const MAX_CPU_MILLIS = 1024 * 1000;
/** 16 TiB. */
export const MAX_MEMORY_BYTES = 16 * 2 ** 40;

export const cpuMillisSchema = z.number().int().min(0).max(MAX_CPU_MILLIS);
export const memoryBytesSchema = z.number().int().min(0).max(MAX_MEMORY_BYTES);

export type QuantityParse = { ok: true; value: number } | { ok: false; reason?: string };

const binarySuffixes: Record<string, bigint> = { Ki: 1n << 10n, Mi: 1n << 20n, Gi: 1n << 30n, Ti: 1n << 40n };
const decimalSuffixes: Record<string, bigint> = { k: 10n ** 3n, K: 10n ** 3n, M: 10n ** 6n, G: 10n ** 9n, T: 10n ** 12n };

/** Longest accepted text: enough for any value below the caps, short enough to keep BigInt cheap. */
const MAX_TEXT = 40;

/**
 * `mantissa × factor` exactly, in whole units, or why not. Decimal text is scaled with integers
 * so that `0.3` CPU is 300m and not 299.99999999999997.
 */
function scaleExactly(text: string, pattern: RegExp, factorOf: (suffix: string | undefined) => bigint, max: number): QuantityParse | 'fraction' {
  if (text.length > MAX_TEXT) return { ok: false };
  const negative = text.startsWith('-');
  const match = pattern.exec(negative ? text.slice(1) : text);
  if (!match) return { ok: false };
  if (negative) return { ok: false, reason: 'it must not be negative' };
  const whole = match[1] ?? '0';
  const fraction = match[2] ?? '';
  const digits = BigInt(whole + fraction);
  const scaled = digits * factorOf(match[3]);
  const divisor = 10n ** BigInt(fraction.length);
  if (scaled % divisor !== 0n) return 'fraction';
  const value = scaled / divisor;
  if (value > BigInt(max)) return { ok: false, reason: 'too-large' };
  return { ok: true, value: Number(value) };
}

/** A number from YAML or JSON as decimal text, or why it cannot be a quantity. */
function numberText(input: number): string | QuantityParse {
  if (!Number.isFinite(input)) return { ok: false, reason: 'it must be a finite number' };
  if (input < 0) return { ok: false, reason: 'it must not be negative' };
  const text = String(input);
  // String() switches to exponent form only for very large or very small numbers.
  if (/e/i.test(text)) return { ok: false, reason: input >= 1 ? 'too-large' : 'too-fine' };
  return text;
}

const decimal = /^([0-9]+)(?:\.([0-9]+))?$/;
const cpuText = /^([0-9]+)(?:\.([0-9]+))?(m)?$/;
const memoryText = /^([0-9]+)(?:\.([0-9]+))?([KMGT]i|[kKMGT])?$/;

/** Decimal text for either input type, or why there is none. */
function quantityText(input: unknown): string | QuantityParse {
  if (typeof input === 'number') return numberText(input);
  return typeof input === 'string' ? input : { ok: false };
}

/** Internal reasons in the words of the quantity they are about. */
function worded(result: QuantityParse | 'fraction', reasons: { fine: string; large: string }): QuantityParse {
  if (result === 'fraction') return { ok: false, reason: reasons.fine };
  if (result.ok) return result;
  if (result.reason === 'too-fine') return { ok: false, reason: reasons.fine };
  if (result.reason === 'too-large') return { ok: false, reason: reasons.large };
  return result;
}

/** Kubernetes' CPU quantity (`500m`, `0.5`, `2`; a bare number counts cores) → millicores. */
export function parseCpuQuantity(input: unknown): QuantityParse {
  const reasons = { fine: 'it must be a whole number of millicores (at least 1m)', large: `it must be at most ${MAX_CPU_MILLIS / 1000} (cores)` };
  const text = quantityText(input);
  if (typeof text !== 'string') return worded(text, reasons);
  // A YAML number is cores; only text may carry the `m` suffix.
  const pattern = typeof input === 'number' ? decimal : cpuText;
  return worded(scaleExactly(text, pattern, (suffix) => (suffix === 'm' ? 1n : 1000n), MAX_CPU_MILLIS), reasons);
}

/** Kubernetes' byte quantity (`64Mi`, `1G`, `1048576`) → bytes. */
export function parseMemoryQuantity(input: unknown): QuantityParse {
  const reasons = { fine: 'it must be a whole number of bytes', large: 'it must be at most 16Ti' };
  const text = quantityText(input);
  if (typeof text !== 'string') return worded(text, reasons);
  const factorOf = (suffix: string | undefined) => (suffix === undefined ? 1n : (binarySuffixes[suffix] ?? decimalSuffixes[suffix] ?? 1n));
  return worded(scaleExactly(text, memoryText, factorOf, MAX_MEMORY_BYTES), reasons);
}

/** Millicores as a person would write them: `500m`, `2`. Parses back to the same value. */
export function formatCpuMillis(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

/** Bytes with the largest binary suffix that divides them exactly: `64Mi`, `1536Ki`, `1000`. */
export function formatMemoryBytes(bytes: number): string {
  for (const [suffix, factor] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes !== 0 && bytes % factor === 0) return `${bytes / factor}${suffix}`;
  }
  return String(bytes);
}

function shown(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw);
  if (typeof raw === 'number') return `"${String(raw)}"`;
  return JSON.stringify(raw) ?? String(raw);
}

function quantitySchema(parse: (raw: unknown) => QuantityParse, what: string) {
  return z.unknown().transform((raw, ctx) => {
    const result = parse(raw);
    if (result.ok) return result.value;
    ctx.addIssue({ code: 'custom', message: `${shown(raw)} is not ${what}${result.reason ? `; ${result.reason}` : ''}` });
    return z.NEVER;
  });
}

/** Manifest input: a CPU quantity → millicores. */
export const cpuQuantitySchema = quantitySchema(parseCpuQuantity, 'a CPU quantity (e.g. 500m, 0.5, 2)');
/** Manifest input: a memory quantity → bytes. */
export const memoryQuantitySchema = quantitySchema(parseMemoryQuantity, 'a memory quantity (e.g. 64Mi, 1G)');
