// When a wave has succeeded or failed. Deferred devices are neither: they do not block a wave
// and are not counted in its percentages.
import type { CountOrPercent, RolloutDevice, WaveSpec } from '../../protocol/index.js';

export interface WaveCounts {
  readonly total: number;
  readonly pending: number;
  readonly waitingWindow: number;
  /** Updating or verifying: assigned, not judged yet. */
  readonly inFlight: number;
  readonly updating: number;
  readonly healthy: number;
  readonly failed: number;
  readonly deferred: number;
  readonly rolledBack: number;
}

type MutableCounts = { -readonly [K in keyof WaveCounts]: WaveCounts[K] };

/** Adds (sign 1) or takes away (sign -1) one device in `state` to counts. */
export function tally(c: MutableCounts, state: RolloutDevice['state'], sign: 1 | -1): void {
  c.total += sign;
  switch (state) {
    case 'pending':
      c.pending += sign;
      break;
    case 'waiting-window':
      c.waitingWindow += sign;
      break;
    case 'updating':
      c.updating += sign;
      c.inFlight += sign;
      break;
    case 'verifying':
      c.inFlight += sign;
      break;
    case 'healthy':
      c.healthy += sign;
      break;
    case 'failed':
      c.failed += sign;
      break;
    case 'deferred':
      c.deferred += sign;
      break;
    case 'rolled-back':
      c.rolledBack += sign;
      break;
  }
}

export function waveCounts(devices: Readonly<Record<string, RolloutDevice>>, wave: number): WaveCounts {
  const c = { total: 0, pending: 0, waitingWindow: 0, inFlight: 0, updating: 0, healthy: 0, failed: 0, deferred: 0, rolledBack: 0 };
  for (const id in devices) {
    const d = devices[id] as RolloutDevice;
    if (d.wave === wave) tally(c, d.state, 1);
  }
  return c;
}

export type WaveJudgement =
  | { readonly kind: 'running' }
  | { readonly kind: 'succeeded'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string }
  /** Settled, but too few devices reported to judge the success percent. */
  | { readonly kind: 'inconclusive'; readonly reason: string };

const pct = (part: number, whole: number): number => (whole === 0 ? 0 : (100 * part) / whole);
const fmt = (n: number): string => `${Math.round(n * 10) / 10}%`;

/** Judges an ordinary wave: failure as soon as it is met, success once every device settled. */
export function judgeWave(c: WaveCounts, wave: WaveSpec): WaveJudgement {
  const reported = c.healthy + c.failed;
  const { maxCount, maxPercent, minReported } = wave.failure;
  const countLimit = maxCount ?? (maxPercent === undefined ? 0 : undefined);
  if (countLimit !== undefined && c.failed > countLimit) {
    return { kind: 'failed', reason: `${c.failed} device(s) failed, more than failure.maxCount ${countLimit}` };
  }
  if (maxPercent !== undefined && reported >= minReported && pct(c.failed, reported) > maxPercent) {
    return {
      kind: 'failed',
      reason: `${c.failed} of ${reported} reporting devices failed (${fmt(pct(c.failed, reported))}), more than failure.maxPercent ${maxPercent}%`,
    };
  }
  if (c.pending + c.waitingWindow + c.inFlight > 0) return { kind: 'running' };
  const summary = `${c.healthy} healthy, ${c.failed} failed, ${c.deferred} deferred`;
  if (c.total === 0) return { kind: 'succeeded', reason: 'no devices in this wave' };
  const s = wave.success;
  if (s.minCount !== undefined && c.healthy < s.minCount) {
    return { kind: 'failed', reason: `${summary}: fewer than success.minCount ${s.minCount} healthy` };
  }
  if (reported < s.minReported) {
    return { kind: 'inconclusive', reason: `${summary}: only ${reported} reported, success.minReported is ${s.minReported}` };
  }
  if (reported > 0 && pct(c.healthy, reported) < s.minPercent) {
    return { kind: 'failed', reason: `${summary}: ${fmt(pct(c.healthy, reported))} healthy, below success.minPercent ${s.minPercent}%` };
  }
  return { kind: 'succeeded', reason: summary };
}

/**
 * Judges the HIL gate: it passes only on evidence (at least one bench device healthy, none
 * failed); a bench that never reported is a failed gate, not a pass.
 */
export function judgeGate(c: WaveCounts): WaveJudgement {
  if (c.failed > 0) return { kind: 'failed', reason: `${c.failed} of ${c.total} bench device(s) failed the gate` };
  if (c.pending + c.waitingWindow + c.inFlight > 0) return { kind: 'running' };
  if (c.total === 0) return { kind: 'failed', reason: 'no bench device matches the gate selector' };
  if (c.healthy === 0) return { kind: 'failed', reason: `no bench device reported (${c.deferred} deferred)` };
  return { kind: 'succeeded', reason: `${c.healthy} bench device(s) passed, ${c.deferred} deferred` };
}

/** A count, or a percentage of `of` rounded down but at least 1 when positive. */
export function resolveCountOrPercent(value: CountOrPercent, of: number): number {
  if (typeof value === 'number') return value;
  const p = Number(value.slice(0, -1));
  if (p === 0) return 0;
  return Math.max(1, Math.floor((p * of) / 100));
}
