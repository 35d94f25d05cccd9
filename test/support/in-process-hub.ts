import { join } from 'node:path';
import mqtt from 'mqtt';
import { createLogger, type Logger } from '../../src/common/log.js';
import { startHub, type RunningHub } from '../../src/hub/main.js';
import type { HubLimits } from '../../src/hub/limits/hub-limits.js';
import { generateDeviceKey, type DeviceKey } from '../../src/device-agent/identity/device-key.js';
import { joinFleet } from '../../src/device-agent/identity/join.js';
import { gatewayFacts } from './facts-fixture.js';

export interface CapturedLog {
  lines: string[];
  logger: Logger;
  has(pattern: RegExp): boolean;
}

export function captureLog(scope = 'hub'): CapturedLog {
  const lines: string[] = [];
  const logger = createLogger(scope, 'debug', (line) => lines.push(line));
  return { lines, logger, has: (p) => lines.some((l) => p.test(l)) };
}

/** A hub in this process on loopback with ephemeral ports. */
export async function startTestHub(dataRoot: string, log: Logger, externalBroker?: string, options: { tls?: boolean; brokerDynsec?: boolean; limits?: HubLimits } = {}): Promise<RunningHub> {
  return startHub(
    {
      dataDir: join(dataRoot, 'hub'),
      apiHost: '127.0.0.1',
      apiPort: 0,
      mqttHost: '127.0.0.1',
      mqttPort: 0,
      ...(externalBroker ? { externalBroker } : {}),
      ...(options.brokerDynsec ? { brokerDynsec: true } : {}),
      ...(options.limits ? { limits: options.limits } : {}),
      autoscaleIntervalSeconds: 15,
      logLevel: 'debug',
      // TLS is the hub's default; tests that are not about it use plain MQTT and http.
      ...(options.tls ? {} : { insecure: true }),
    },
    log,
  );
}

/** Registers a device through the real join flow (with a fresh device key); returns its credentials and key. */
export async function registerTestDevice(
  hub: RunningHub,
  hardwareId: string,
  log: Logger,
  options: { key?: DeviceKey; labels?: Record<string, string> } = {},
): Promise<{ deviceId: string; password: string; key: DeviceKey }> {
  const token = await hub.tokens.create({ ttlSeconds: 600, labels: options.labels ?? {}, maxUses: 1, description: 'test' });
  const key = options.key ?? generateDeviceKey().key;
  const granted = await joinFleet({
    brokerUrl: hub.brokerUrl,
    token: token.token,
    hardwareId,
    key,
    hostname: `host-${hardwareId}`,
    agentVersion: 'test',
    facts: gatewayFacts({ hostname: `host-${hardwareId}` }),
    // A TLS hub's broker is verified against its CA, as an agent does after pinning it.
    connect: hub.ca ? (url, connectOptions) => mqtt.connect(url, { ...connectOptions, ca: hub.ca }) : mqtt.connect,
    log,
  });
  return { deviceId: granted.deviceId, password: granted.password, key };
}
