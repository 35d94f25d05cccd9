import type { HubView } from '../../protocol/index.js';
import type { Columns } from './format.js';
import { formatAge } from './human.js';

/** `ok`, or `degraded` with its reason: the operator sees why without a second command. */
function stateOf(hub: HubView): string {
  return hub.state === 'ok' ? 'Ok' : `Degraded: ${hub.reason ?? 'unknown reason'}`;
}

export const hubColumns: Columns<HubView> = {
  headers: ['HUB', 'LEADER', 'STATE', 'CONNECTIONS', 'CPU', 'LOAD', 'API', 'AGE'],
  row: (h) => [
    h.id,
    h.leading ? 'yes' : '',
    stateOf(h),
    String(h.connections),
    `${Math.round(h.cpu * 100)}%`,
    `${h.load1.toFixed(2)}/${h.cpus}`,
    h.apiUrl,
    formatAge(h.startedAt),
  ],
  wideHeaders: ['BROKER', 'LAST HEARTBEAT'],
  wideRow: (h) => [h.brokerUrl, `${formatAge(h.heartbeatAt)} ago`],
  name: (h) => h.id,
};
