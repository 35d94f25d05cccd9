import type { DeviceView } from '../../protocol/index.js';
import type { Columns } from './format.js';
import { formatAge, formatBytes, formatLabels } from './human.js';

function statusText(d: DeviceView): string {
  const state = d.state === 'online' ? 'Online' : d.state === 'offline' ? 'Offline' : 'Unknown';
  const held = d.pendingRejoin && !d.pendingRejoin.approved ? ',RejoinPending' : '';
  return `${state}${d.unschedulable ? ',SchedulingDisabled' : ''}${held}`;
}

export const deviceColumns: Columns<DeviceView> = {
  headers: ['ID', 'STATUS', 'ARCH', 'CPUS', 'MEMORY', 'AGE', 'VERSION'],
  row: (d) => [
    d.id,
    statusText(d),
    d.facts?.arch ?? '<unknown>',
    d.facts ? String(d.facts.cpu.cores) : '<unknown>',
    formatBytes(d.facts?.memory.totalBytes),
    formatAge(d.registeredAt),
    d.agentVersion ?? '<unknown>',
  ],
  wideHeaders: ['HOSTNAME', 'OS', 'KERNEL', 'DOCKER', 'LAST-SEEN', 'LABELS'],
  wideRow: (d) => [
    d.hostname,
    d.facts ? `${d.facts.os.distro} ${d.facts.os.release}`.trim() : '<unknown>',
    d.facts?.os.kernel ?? '<unknown>',
    d.facts?.runtimes.docker.available ? (d.facts.runtimes.docker.version ?? 'yes') : 'no',
    d.lastSeen ? `${formatAge(d.lastSeen)} ago` : '<never>',
    formatLabels(d.labels),
  ],
  name: (d) => `device/${d.id}`,
};
