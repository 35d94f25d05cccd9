// Part of the agent's composition root (main.ts): the gateway's serial ports, firmware cache and
// download source, built only on agents given MCU ports. Moved out of main.ts as it was.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { fetchTrustingCa } from '../common/tls-trust.js';
import type { ByteLink } from '../firmware/index.js';
import { topics, type McuTelemetry } from '../protocol/index.js';
import type { AgentConfig } from './config.js';
import type { GatewayIo, GatewayParts } from './gateway/gateway-parts.js';
import type { PortLocks } from './gateway/port-lock.js';
import type { DeviceSession } from './session/device-session.js';

/**
 * The gateway's concrete I/O, built only on agents given MCU ports: the gateway code and
 * serialport (+14 MB RSS, on first use) are loaded here, never on boards without MCUs.
 */
export async function startGatewayIfConfigured(
  config: AgentConfig,
  context: {
    locks: PortLocks;
    deviceId: string;
    password: string;
    hubUrl: string | undefined;
    /** The pinned hub CA: firmware downloads over https are verified against it. */
    hubCa?: string;
    session: DeviceSession;
    refreshFacts: () => void;
    event: GatewayIo['event'];
    log: Logger;
    /** Also hands each telemetry message to the local MCU telemetry service. */
    localTelemetry?: (message: McuTelemetry) => void;
  },
): Promise<GatewayParts | undefined> {
  if (config.mcuPorts.length === 0 && !config.mcuDiscover) return undefined;
  // Loaded here, not with the agent: the MCU link and flasher code (and its module-level tables and
  // schemas) is heap that a device without MCUs never uses.
  const [{ createGatewayParts }, { safePortLister }, { FileImageKeeper }, { createSystemClock, serialPortLink, SwitchableLink, DEFAULT_REOPEN_ATTEMPTS, DEFAULT_REOPEN_DELAY_MS }] = await Promise.all([
    import('./gateway/gateway-parts.js'),
    import('./gateway/port-discovery.js'),
    import('../firmware/update/kept-images.js'),
    import('../firmware/index.js'),
  ]);
  const trustedKeys = await Promise.all(
    config.trustKeyFiles.map(async (file) => {
      try {
        return await readFile(file, 'utf8');
      } catch (err) {
        throw new Error(`--trust-key ${file}: ${errorMessage(err)}`);
      }
    }),
  );
  // 8N1 for the applications; the flasher switches the same link to 8E1 for the bootloader.
  const clock = createSystemClock();
  const open = (path: string): Promise<ByteLink> =>
    SwitchableLink.open(
      async (parity) => {
        const { SerialPort } = await import('serialport');
        const port = new SerialPort({ path, baudRate: config.mcuBaud, parity, autoOpen: false });
        await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
        return serialPortLink(port);
      },
      'none',
      { clock, attempts: DEFAULT_REOPEN_ATTEMPTS, delayMs: DEFAULT_REOPEN_DELAY_MS },
    );
  const list = safePortLister(async () => (await import('serialport')).SerialPort.list(), context.log);
  const firmwareDir = join(config.stateDir, 'firmware');
  const { session, deviceId } = context;
  return createGatewayParts(
    {
      ports: config.mcuPorts,
      telemetryIntervalMs: config.mcuTelemetryIntervalMs,
      silenceSeconds: config.mcuSilenceSeconds,
      bootTimeoutSeconds: config.mcuBootTimeoutSeconds,
      trustedKeys,
      power: config.mcuPower,
      baud: config.mcuBaud,
    },
    {
      open,
      ...(config.mcuDiscover ? { discovery: { list, intervalMs: 10_000, giveUpMs: 30_000 } } : {}),
      clock,
      source: context.hubUrl
        ? { hubUrl: context.hubUrl.replace(/\/+$/, ''), deviceId, password: context.password, fetch: context.hubCa ? fetchTrustingCa(context.hubCa) : globalThis.fetch, directory: join(firmwareDir, 'downloads') }
        : undefined,
      keeper: new FileImageKeeper(join(firmwareDir, 'mcus')),
      locks: context.locks,
      publishTelemetry: (mcuId, message) => {
        context.localTelemetry?.(message);
        void session.publishRaw(topics.mcuTelemetry(deviceId, mcuId), JSON.stringify(message)).catch((err: unknown) => context.log.debug(`telemetry: ${errorMessage(err)}`));
      },
      attachedChanged: () => context.refreshFacts(),
      event: context.event,
      now: () => new Date(),
      log: context.log,
    },
  );
}
