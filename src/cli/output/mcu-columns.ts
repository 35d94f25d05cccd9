import type { McuTelemetry, McuView } from '../../protocol/index.js';
import type { Columns } from './format.js';
import { formatAge } from './human.js';

/** `pitch=12.34deg roll=-3.50deg` from a telemetry message, in the channel order the MCU sent. */
export function formatReadings(telemetry: McuTelemetry, names?: ReadonlySet<string>): string {
  return telemetry.channels
    .filter((c) => names === undefined || names.has(c.name))
    .map((c) => `${c.name}=${Number.isInteger(c.value) ? c.value : c.value.toFixed(2)}${c.unit === 'count' ? '' : c.unit}`)
    .join(' ');
}

const SUMMARY = new Set(['pitch', 'roll']);

export const mcuColumns: Columns<McuView> = {
  headers: ['GATEWAY', 'MCU', 'MODEL', 'FIRMWARE', 'STATUS', 'LAST TELEMETRY'],
  row: (m) => [
    m.gateway,
    m.id,
    m.model,
    m.firmwareVersion,
    m.online ? 'Online' : 'Offline',
    m.lastTelemetry ? `${formatAge(m.lastTelemetry.time)} ago  ${formatReadings(m.lastTelemetry, SUMMARY)}` : '<none>',
  ],
  wideHeaders: ['APPLICATION', 'SERIAL', 'PORT'],
  wideRow: (m) => [m.application, m.serial, m.port],
  name: (m) => `${m.gateway}/${m.id}`,
};
