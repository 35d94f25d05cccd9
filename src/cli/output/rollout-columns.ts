// How releases and rollouts look in the CLI: tables for `get`, a bar per wave for `rollout status`.
import { formatReleaseRef, type ReleaseView, type RolloutView, type WaveCountsView } from '../../protocol/index.js';
import type { Columns } from './format.js';
import { formatAge } from './human.js';

export const releaseColumns: Columns<ReleaseView> = {
  headers: ['NAME', 'VERSION', 'WORKLOADS', 'FIRMWARE', 'GATE', 'DEVICES', 'AGE'],
  row: (r) => [
    r.name,
    r.version,
    r.workloads.join(',') || '<none>',
    r.firmware.map((f) => `${f.mcuModel}@${f.version}`).join(',') || '<none>',
    r.gate === null ? '-' : r.gate.result,
    String(r.devices),
    formatAge(r.createdAt),
  ],
  wideHeaders: ['DIGEST'],
  wideRow: (r) => [r.digest],
  name: (r) => `release/${r.name}@${r.version}`,
};

const totals = (r: RolloutView): WaveCountsView =>
  r.waves.reduce<WaveCountsView>(
    (sum, w) => {
      for (const k of Object.keys(sum) as (keyof WaveCountsView)[]) sum[k] += w.counts[k];
      return sum;
    },
    { total: 0, pending: 0, waitingWindow: 0, updating: 0, verifying: 0, healthy: 0, failed: 0, deferred: 0, rolledBack: 0 },
  );

export const rolloutColumns: Columns<RolloutView> = {
  headers: ['NAME', 'RELEASE', 'PHASE', 'WAVE', 'HEALTHY', 'FAILED', 'DEFERRED', 'AGE'],
  row: (r) => {
    const t = totals(r);
    const wave = r.currentWave < 0 ? '-' : `${r.currentWave + 1}/${r.waves.length}`;
    return [r.name, formatReleaseRef(r.release), r.phase, wave, `${t.healthy}/${t.total}`, String(t.failed), String(t.deferred), formatAge(r.createdAt)];
  },
  name: (r) => `rollout/${r.name}`,
};

/** `healthy 2, failed 0, deferred 1, pending 1` for one wave (only what is non-zero, healthy always). */
export function waveSummary(c: WaveCountsView): string {
  const parts = [`healthy ${c.healthy}`];
  const more: [string, number][] = [
    ['failed', c.failed],
    ['deferred', c.deferred],
    ['updating', c.updating],
    ['verifying', c.verifying],
    ['waiting for window', c.waitingWindow],
    ['pending', c.pending],
    ['rolled back', c.rolledBack],
  ];
  for (const [label, n] of more) if (n > 0) parts.push(`${label} ${n}`);
  return `${parts.join(', ')} of ${c.total}`;
}

/** A bar of `width` cells: healthy █, failed ✗, deferred ~, in flight ▒, pending ·. */
export function waveBar(c: WaveCountsView, width = 20): string {
  if (c.total === 0) return ' '.repeat(width);
  const cells = (n: number): number => Math.round((n / c.total) * width);
  const healthy = cells(c.healthy);
  const failed = cells(c.failed + c.rolledBack);
  const deferred = cells(c.deferred);
  const flight = cells(c.updating + c.verifying);
  const rest = Math.max(0, width - healthy - failed - deferred - flight);
  return `${'█'.repeat(healthy)}${'✗'.repeat(failed)}${'~'.repeat(deferred)}${'▒'.repeat(flight)}${'·'.repeat(rest)}`.slice(0, width);
}

/** The status of a rollout: a header line, then one line per wave (with a bar on a terminal). */
export function renderRolloutStatus(r: RolloutView, tty: boolean): string {
  const lines = [`rollout ${r.name}: ${formatReleaseRef(r.release)} ${r.phase}${r.pause ? ` (${r.pause.reason})` : ''}`];
  for (const w of r.waves) {
    const label = `wave ${w.index} ${w.name}`.padEnd(18);
    const state = w.state.padEnd(9);
    lines.push(tty ? `  ${label} ${state} [${waveBar(w.counts)}] ${waveSummary(w.counts)}` : `  ${label} ${state} ${waveSummary(w.counts)}`);
  }
  // Devices whose state has a why worth reading (failed, rolled back, deferred, waiting for a
  // window), with it; the rest are counted above. -o json has them all.
  const notable = r.devices.filter((d) => NOTABLE.has(d.state) && d.reason !== undefined);
  for (const d of notable.slice(0, MAX_DEVICE_LINES)) lines.push(`  ${d.id} ${d.state}: ${d.reason ?? ''}`);
  if (notable.length > MAX_DEVICE_LINES) lines.push(`  … and ${notable.length - MAX_DEVICE_LINES} more (rollout status ${r.name} -o json)`);
  return lines.join('\n');
}

const NOTABLE: ReadonlySet<string> = new Set(['failed', 'rolled-back', 'deferred', 'waiting-window']);
const MAX_DEVICE_LINES = 10;

export const rolloutDone = (r: RolloutView): boolean => r.phase === 'completed' || r.phase === 'rolled-back' || r.phase === 'aborted';
