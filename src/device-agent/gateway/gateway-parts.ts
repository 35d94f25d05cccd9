/**
 * Assembles the gateway side of the agent from concrete I/O the composition root made
 * (serial opener, port lister, fetch, clock): the supervised ports, the telemetry
 * forwarding to MQTT, and the `flash` RPC handler.
 */
import { keyIdOf, type Clock, type Identity, type Telemetry } from '../../firmware/index.js';
import { parsePowerControl, type ImageKeeper, type PowerControlName } from '../../firmware/update/index.js';
import type { Logger } from '../../common/log.js';
import type { AttachedMcu, DeviceEvent, McuTelemetry } from '../../protocol/index.js';
import type { RpcHandler } from '../rpc/rpc-server.js';
import { flashHandler } from './flash-handler.js';
import type { FirmwareSource } from './firmware-fetch.js';
import { firmwarePrefetcher, type FirmwarePrefetcher } from './firmware-prefetch.js';
import { Gateway, type PortDiscovery } from './gateway.js';
import type { PortOpener } from './mcu-port.js';
import type { PortLocks } from './port-lock.js';
import { telemetryMessage } from './telemetry-message.js';

export interface GatewaySettings {
  readonly ports: readonly string[];
  readonly telemetryIntervalMs: number;
  readonly silenceSeconds: number;
  readonly bootTimeoutSeconds: number;
  /** PEM text of each trusted firmware key. */
  readonly trustedKeys: readonly string[];
  /** How each port's MCU is power-cycled (STC89); unlisted ports: the technician is asked. */
  readonly power?: Readonly<Record<string, PowerControlName>>;
  /** The ports' line rate (restored after a loader that switches rates). */
  readonly baud?: number;
}

export interface GatewayIo {
  readonly open: PortOpener;
  readonly discovery?: PortDiscovery;
  readonly clock: Clock;
  readonly source: FirmwareSource | undefined;
  /** Where the image to restore is kept per MCU. */
  readonly keeper: ImageKeeper;
  /** The agent's port lock, shared with Jobs that claim an MCU's port. */
  readonly locks: PortLocks;
  readonly publishTelemetry: (mcuId: string, message: McuTelemetry) => void;
  readonly attachedChanged: (mcus: AttachedMcu[]) => void;
  readonly event: (event: Omit<DeviceEvent, 'time'>) => void;
  readonly now: () => Date;
  readonly log: Logger;
}

export interface GatewayParts {
  readonly gateway: Gateway;
  readonly flash: RpcHandler;
  /** Downloads firmware ahead of a window (desired `prefetchFirmware`). */
  readonly firmware: FirmwarePrefetcher;
}

export function createGatewayParts(settings: GatewaySettings, io: GatewayIo): GatewayParts {
  for (const pem of settings.trustedKeys) io.log.info(`trusting firmware signed by key ${keyIdOf(pem)}`);
  if (settings.trustedKeys.length === 0) io.log.warn('no --trust-key given: every firmware image will be refused');
  const gateway = new Gateway({
    ports: settings.ports,
    ...(io.discovery ? { discovery: io.discovery } : {}),
    clock: io.clock,
    port: {
      open: io.open,
      clock: io.clock,
      telemetryIntervalMs: settings.telemetryIntervalMs,
      // Never call an MCU silent between two of its regular frames.
      silenceMs: Math.max(settings.silenceSeconds * 1000, 3 * settings.telemetryIntervalMs),
      reopenMs: 2000,
      identifyBackoff: { baseMs: 250, maxMs: 8000 },
      onTelemetry: (mcuId: string, identity: Identity, telemetry: Telemetry) =>
        io.publishTelemetry(mcuId, telemetryMessage(mcuId, identity.model, telemetry, io.now())),
    },
    onAttachedChange: io.attachedChanged,
    log: io.log,
  });
  const flash = flashHandler({
    gateway,
    source: io.source,
    trustedKeys: settings.trustedKeys,
    keeper: io.keeper,
    locks: io.locks,
    clock: io.clock,
    bootTimeoutMs: settings.bootTimeoutSeconds * 1000,
    powerFor: (path) => parsePowerControl(settings.power?.[path] ?? 'ask'),
    ...(settings.baud ? { baud: settings.baud } : {}),
    event: io.event,
    log: io.log.child('flash'),
  });
  return { gateway, flash, firmware: firmwarePrefetcher(io.source, io.event, io.log.child('prefetch')) };
}
