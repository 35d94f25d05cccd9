import type { McuTelemetry, McuView } from '../../protocol/index.js';
import type { Columns } from './format.js';
import { formatAge } from './human.js';

/** `pitch=12.34deg roll=-3.50deg` from a telemetry message, in the channel order the MCU sent. */
export function formatReadings(telemetry: McuTelemetry, names?: ReadonlySet<string>): string {
  return telemetry.channels
    .filter((c) => names === undefined || names.has(c.name))
    .map((c) => `${c.name}=${formatValue(c)}`)
    .join(' ');
}

/** Degrees and °C carry hundredths on the wire (PROTOCOL.md), so they print with two decimals. */
function formatValue(channel: McuTelemetry['channels'][number]): string {
  switch (channel.unit) {
    case 'deg':
      return `${channel.value.toFixed(2)}°`;
    case '°C':
      return `${channel.value.toFixed(2)}°C`;
    case 'count':
    case '':
      return String(channel.value);
    default:
      return `${channel.value}${channel.unit}`;
  }
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
