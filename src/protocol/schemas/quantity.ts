import { z } from 'zod';

const binarySuffixes: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const decimalSuffixes: Record<string, number> = { k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12 };

/** Kubernetes quantity for bytes: `64Mi`, `1G`, `1048576`. Negative or malformed values are refused. */
export function parseByteQuantity(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input) : undefined;
  const match = /^(\d+(?:\.\d+)?)([KMGT]i|[kKMGT])?$/.exec(input.trim());
  if (!match) return undefined;
  const suffix = match[2];
  const factor = suffix === undefined ? 1 : (binarySuffixes[suffix] ?? decimalSuffixes[suffix] ?? NaN);
  const value = Number(match[1]) * factor;
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

/** Kubernetes quantity for CPU: `500m`, `0.5`, `2` → millicores. */
export function parseCpuQuantity(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? Math.round(input * 1000) : undefined;
  const match = /^(\d+(?:\.\d+)?)(m)?$/.exec(input.trim());
  if (!match) return undefined;
  const value = match[2] === 'm' ? Number(match[1]) : Number(match[1]) * 1000;
  return Number.isFinite(value) ? Math.round(value) : undefined;
}

const quantityInput = z.union([z.string(), z.number()]);

export const byteQuantitySchema = quantityInput.transform((raw, ctx) => {
  const bytes = parseByteQuantity(raw);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${raw}" is not a memory quantity (e.g. 64Mi, 1G); it must not be negative` });
    return z.NEVER;
  }
  return bytes;
});

export const cpuQuantitySchema = quantityInput.transform((raw, ctx) => {
  const millicores = parseCpuQuantity(raw);
  if (millicores === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${raw}" is not a CPU quantity (e.g. 500m, 0.5, 2); it must not be negative` });
    return z.NEVER;
  }
  return millicores;
});
