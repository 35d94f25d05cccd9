import { join } from 'node:path';
import { dataHome } from '../common/paths.js';
import type { LogLevel } from '../common/log.js';
import type { PowerControlName } from '../firmware/update/power-control.js';

export interface AgentConfig {
  /** The hub's API URL; used to discover the broker and (later) to fetch firmware. */
  hubUrl?: string;
  /** Overrides the broker the hub advertises. */
  brokerUrl?: string;
  joinToken?: string;
  /** A CA certificate (PEM file) to verify the hub with, instead of the one the join token's fingerprint pins. */
  hubCaFile?: string;
  stateDir: string;
  /** Overrides the board's own identity (machine id); for several simulated agents on one machine. */
  hardwareId?: string;
  /** A JSON file whose fields replace collected facts (tests and simulators claim other hardware). */
  factsFile?: string;
  keepaliveSeconds: number;
  /** How often facts are collected again; they are published only when they changed. */
  factsIntervalSeconds: number;
  /** How often usage samples are sent (for `top` and autoscaling). */
  metricsIntervalSeconds: number;
  /** First delay of the crash-loop backoff (Kubernetes: 10 s, doubling to 5 min). */
  crashBackoffSeconds: number;
  /** How many instances are started (or stopped) at once; 1 is one after another. */
  parallelStarts: number;
  /** Docker network for containers: `host` on most boards, or a bridge network. */
  containerNetwork: string;
  /** Whether images may be pulled; without a registry only local images are used. */
  registry?: string;
  logLevel: LogLevel;
  /** Gateway: serial ports with MCUs behind them (--mcu-port, repeatable). */
  mcuPorts: string[];
  /** Line rate of the MCU ports (hardware/profiles: 115200 8N1). */
  mcuBaud: number;
  /**
   * How each port's MCU is power-cycled when its loader runs only after power-on (STC89):
   * port path → dtr | rts | dtr-inverted | rts-inverted | ask (--mcu-power). Unlisted: ask.
   */
  mcuPower: Record<string, PowerControlName>;
  /** Also probe USB serial ports found by SerialPort.list() (needs udev). */
  mcuDiscover: boolean;
  /** Telemetry interval the gateway sets on each MCU (PROTOCOL.md SET_RATE, 50 ms at least). */
  mcuTelemetryIntervalMs: number;
  /** No frame from an MCU for this long: PING it, offline if it does not answer. */
  mcuSilenceSeconds: number;
  /** How long a freshly flashed MCU gets to identify before the previous image is restored. */
  mcuBootTimeoutSeconds: number;
  /** Where other devices reach this one (service endpoints); default: the IPv4 of the default route's interface. */
  advertiseAddress?: string;
  /** Where the local service proxy listens (one port per service used here). */
  serviceAddress: string;
  /** Gateway: a local TCP port streaming every attached MCU's telemetry as JSON lines (service `mcu-telemetry`). */
  mcuTelemetryPort?: number;
  /** PEM files of the public keys whose firmware signatures this gateway accepts (--trust-key). */
  trustKeyFiles: string[];
}

export function defaultAgentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  return {
    ...(env['EDGEPILOT_HUB'] ? { hubUrl: env['EDGEPILOT_HUB'] } : {}),
    ...(env['EDGEPILOT_JOIN_TOKEN'] ? { joinToken: env['EDGEPILOT_JOIN_TOKEN'] } : {}),
    stateDir: env['EDGEPILOT_DATA_DIR'] ? join(env['EDGEPILOT_DATA_DIR'], 'agent') : join(dataHome(env), 'edgepilot', 'agent'),
    keepaliveSeconds: 30,
    factsIntervalSeconds: 300,
    crashBackoffSeconds: 10,
    metricsIntervalSeconds: 15,
    parallelStarts: 4,
    containerNetwork: 'host',
    logLevel: 'info',
    mcuPorts: [],
    mcuBaud: 115200,
    mcuPower: {},
    mcuDiscover: false,
    mcuTelemetryIntervalMs: 1000,
    mcuSilenceSeconds: 5,
    mcuBootTimeoutSeconds: 10,
    trustKeyFiles: [],
    serviceAddress: '127.0.0.1',
  };
}
