import { formatSelector, type ServiceView } from '../../protocol/index.js';
import type { Columns } from './format.js';
import { formatAge } from './human.js';

/** "8080→80/TCP,9090→metrics:9100/TCP": the proxy port on each using device, then the instances' port. */
export function portsText(s: ServiceView): string {
  return s.spec.ports.map((p) => `${p.port}→${p.name ? `${p.name}:` : ''}${p.targetPort}/${p.protocol}`).join(',');
}

export const serviceColumns: Columns<ServiceView> = {
  headers: ['NAME', 'SCOPE', 'PORTS', 'ENDPOINTS', 'USED BY', 'AGE'],
  row: (s) => [s.name, s.spec.scope === 'site' ? `site(${s.spec.siteLabel})` : s.spec.scope, portsText(s), `${s.endpoints.length}/${s.endpoints.length + s.notReady.length}`, String(s.usedBy.length), formatAge(s.createdAt)],
  wideHeaders: ['SELECTOR'],
  wideRow: (s) => [formatSelector(s.spec.selector)],
  name: (s) => `service/${s.name}`,
};
