/**
 * `get mcus`: every MCU the gateways list in their facts, with the gateway's state and the
 * MCU's last telemetry. Pure: devices and telemetry lookups in, views out.
 */
import type { McuTelemetry, McuView } from '../../protocol/index.js';
import type { DeviceRecord } from '../store/records.js';

export function mcuViews(devices: readonly DeviceRecord[], lastTelemetry: (gateway: string, mcu: string) => McuTelemetry | undefined): McuView[] {
  const views: McuView[] = [];
  for (const device of devices) {
    const gatewayOnline = device.status?.state === 'online';
    for (const mcu of device.facts?.mcus ?? []) {
      views.push({
        gateway: device.id,
        gatewayOnline,
        id: mcu.id,
        model: mcu.model,
        application: mcu.application,
        serial: mcu.serial,
        firmwareVersion: mcu.firmwareVersion,
        port: mcu.port,
        // What an offline gateway last said about its MCUs is no longer known to be true.
        online: gatewayOnline && mcu.online,
        lastTelemetry: lastTelemetry(device.id, mcu.id) ?? null,
      });
    }
  }
  return views.sort((a, b) => a.gateway.localeCompare(b.gateway) || a.id.localeCompare(b.id));
}
