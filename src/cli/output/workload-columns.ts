import type { InstanceStatus, WorkloadView } from '../../protocol/index.js';
import type { Columns } from './format.js';
import { formatAge } from './human.js';

function what(w: WorkloadView): string {
  const t = w.spec.template;
  return t.runtime === 'container' ? t.image : [...t.command, ...t.args].join(' ').slice(0, 40);
}

/** "2 running, 1 crash-loop": the phases of the instances, most common first. */
export function phaseSummary(instances: readonly InstanceStatus[]): string {
  if (instances.length === 0) return '<none>';
  const counts = new Map<string, number>();
  for (const i of instances) counts.set(i.phase, (counts.get(i.phase) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([phase, n]) => `${n} ${phase}`).join(', ');
}

export const workloadColumns: Columns<WorkloadView> = {
  headers: ['NAME', 'DESIRED', 'PLACED', 'READY', 'RESTARTS', 'RUNTIME', 'AGE'],
  row: (w) => [
    w.name,
    String(w.status.desired),
    String(w.status.placed),
    `${w.status.ready}/${w.status.desired}`,
    String(w.status.instances.reduce((n, i) => n + i.restarts, 0)),
    w.spec.template.runtime,
    formatAge(w.createdAt),
  ],
  wideHeaders: ['STATUS', 'IMAGE/COMMAND', 'REVISION'],
  wideRow: (w) => [phaseSummary(w.status.instances), what(w), w.revision.slice(0, 8)],
  name: (w) => `workload/${w.name}`,
};
