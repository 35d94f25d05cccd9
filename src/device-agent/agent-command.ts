import { Command } from 'commander';
import { isIP } from 'node:net';
import { parseLogLevel } from '../common/log.js';
import { defaultAgentConfig, type AgentConfig } from './config.js';
import { POWER_CONTROL_NAMES, type PowerControlName } from '../firmware/update/power-control.js';

export interface AgentFlags {
  hub?: string;
  joinToken?: string;
  broker?: string;
  hubCa?: string;
  stateDir?: string;
  hardwareId?: string;
  factsFile?: string;
  keepalive: string;
  factsInterval: string;
  crashBackoff: string;
  metricsInterval: string;
  parallelStarts?: string;
  containerNetwork: string;
  registry?: string;
  logLevel?: string;
  mcuPort?: string[];
  mcuBaud?: string;
  mcuPower?: string[];
  mcuDiscover?: boolean;
  mcuTelemetryInterval?: string;
  mcuSilence?: string;
  mcuBootTimeout?: string;
  trustKey?: string[];
  advertiseAddress?: string;
  serviceAddress?: string;
  mcuTelemetryPort?: string;
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number of seconds, not "${value}"`);
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** `--mcu-power <port>=<how>`, repeatable: how each port's MCU is power-cycled. */
function powerControls(values: readonly string[]): Record<string, PowerControlName> {
  const out: Record<string, PowerControlName> = {};
  for (const value of values) {
    const at = value.lastIndexOf('=');
    const port = value.slice(0, Math.max(0, at));
    const how = value.slice(at + 1);
    if (at <= 0 || !(POWER_CONTROL_NAMES as readonly string[]).includes(how)) {
      throw new Error(`--mcu-power must be <port>=${POWER_CONTROL_NAMES.join('|')}, not "${value}"`);
    }
    out[port] = how as PowerControlName;
  }
  return out;
}

function integerIn(value: string, flag: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${flag} must be an integer from ${min} to ${max}, not "${value}"`);
  return n;
}

function ipAddress(value: string, flag: string): string {
  if (isIP(value) === 0) throw new Error(`${flag} must be an IP address, not "${value}"`);
  return value;
}

export function agentConfigFromFlags(flags: AgentFlags, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const base = defaultAgentConfig(env);
  return {
    ...base,
    ...(flags.hub ? { hubUrl: flags.hub } : {}),
    ...(flags.joinToken ? { joinToken: flags.joinToken } : {}),
    ...(flags.broker ? { brokerUrl: flags.broker } : {}),
    ...(flags.hubCa ? { hubCaFile: flags.hubCa } : {}),
    ...(flags.stateDir ? { stateDir: flags.stateDir } : {}),
    ...(flags.hardwareId ? { hardwareId: flags.hardwareId } : {}),
    ...(flags.factsFile ? { factsFile: flags.factsFile } : {}),
    keepaliveSeconds: positive(flags.keepalive, '--keepalive'),
    factsIntervalSeconds: positive(flags.factsInterval, '--facts-interval'),
    crashBackoffSeconds: positive(flags.crashBackoff, '--crash-backoff'),
    metricsIntervalSeconds: positive(flags.metricsInterval, '--metrics-interval'),
    parallelStarts: integerIn(flags.parallelStarts ?? String(base.parallelStarts), '--parallel-starts', 1, 64),
    containerNetwork: flags.containerNetwork,
    ...(flags.registry ? { registry: flags.registry } : {}),
    logLevel: parseLogLevel(flags.logLevel ?? env['EDGEPILOT_LOG_LEVEL']),
    mcuPorts: flags.mcuPort ?? [],
    mcuBaud: integerIn(flags.mcuBaud ?? '115200', '--mcu-baud', 50, 4_000_000),
    mcuPower: powerControls(flags.mcuPower ?? []),
    mcuDiscover: flags.mcuDiscover ?? false,
    // PROTOCOL.md SET_RATE: 0 stops telemetry, otherwise at least 50 ms.
    mcuTelemetryIntervalMs: integerIn(flags.mcuTelemetryInterval ?? '1000', '--mcu-telemetry-interval', 50, 65535),
    mcuSilenceSeconds: positive(flags.mcuSilence ?? '5', '--mcu-silence'),
    mcuBootTimeoutSeconds: positive(flags.mcuBootTimeout ?? '10', '--mcu-boot-timeout'),
    trustKeyFiles: flags.trustKey ?? [],
    ...(flags.advertiseAddress ? { advertiseAddress: ipAddress(flags.advertiseAddress, '--advertise-address') } : {}),
    serviceAddress: flags.serviceAddress ? ipAddress(flags.serviceAddress, '--service-address') : base.serviceAddress,
    ...(flags.mcuTelemetryPort ? { mcuTelemetryPort: integerIn(flags.mcuTelemetryPort, '--mcu-telemetry-port', 1, 65535) } : {}),
  };
}

export function agentCommand(): Command {
  return new Command('agent')
    .description('Run the device agent: join the fleet, report facts and status, run what the hub asks')
    .option('--hub <url>', 'hub API URL (env EDGEPILOT_HUB)')
    .option('--join-token <token>', 'join token for the first start (env EDGEPILOT_JOIN_TOKEN)')
    .option('--broker <url>', 'MQTT broker URL (default: the one the hub advertises)')
    .option('--hub-ca <pem>', 'CA certificate to verify the hub with (default: the one the join token\'s fingerprint pins)')
    .option('--state-dir <dir>', 'where identity and desired state are kept (default: $XDG_DATA_HOME/edgepilot/agent)')
    .option('--hardware-id <id>', 'stable board identity (default: derived from /etc/machine-id and the state folder)')
    .option('--facts-file <file>', 'JSON with facts that replace collected ones (simulation, tests)')
    .option('--keepalive <seconds>', 'MQTT keep-alive; the hub sees a dead link after 1.5x this', '30')
    .option('--facts-interval <seconds>', 'how often facts are checked for changes', '300')
    .option('--metrics-interval <seconds>', 'how often usage samples are sent', '15')
    .option('--crash-backoff <seconds>', 'first restart delay of a crashing instance, doubling to 5 min', '10')
    .option('--parallel-starts <n>', 'instances started (or stopped) at once', '4')
    .option('--container-network <name>', 'Docker network for containers', 'host')
    .option('--registry <url>', 'image registry; without one, only images already on the device are used')
    .option('--log-level <level>', 'debug | info | warn | error')
    .option('--mcu-port <path>', 'serial port with an MCU behind it (repeatable); makes this agent a gateway', collect, [])
    .option('--mcu-baud <rate>', 'line rate of the MCU ports', '115200')
    .option(
      '--mcu-power <port=how>',
      'how the MCU on a port is power-cycled into a loader that runs only after power-on (STC89): dtr, rts (asserted = power off), dtr-inverted, rts-inverted, or ask (the technician is prompted; the default) (repeatable)',
      collect,
      [],
    )
    .option('--mcu-discover', 'also probe USB serial ports found by SerialPort.list() (needs udev)')
    .option('--mcu-telemetry-interval <ms>', 'telemetry interval set on each MCU (min 50)', '1000')
    .option('--mcu-silence <seconds>', 'an MCU silent this long is pinged, and offline if it does not answer', '5')
    .option('--mcu-boot-timeout <seconds>', 'time a freshly flashed MCU gets to identify before the previous image is restored', '10')
    .option('--trust-key <pem>', 'public key whose firmware signatures this gateway accepts (repeatable)', collect, [])
    .option('--advertise-address <ip>', 'where other devices reach this one, for service endpoints (default: the IPv4 of the default route\'s interface)')
    .option('--service-address <ip>', 'where the local service proxy listens (one port per service used here)', '127.0.0.1')
    .option('--mcu-telemetry-port <port>', 'gateway: stream every attached MCU\'s telemetry as JSON lines on this local TCP port (service mcu-telemetry)')
    .addHelpText(
      'after',
      `
Examples:
  edgepilot agent --hub https://hub.plant-3:7080 --join-token k3x9qa.Yt0...
  edgepilot agent            # later starts: the identity in the state folder is used
  edgepilot agent --mcu-port /dev/ttyUSB0 --mcu-port /dev/ttyS3 --trust-key /etc/edgepilot/firmware.pub
  edgepilot agent --mcu-port /dev/ttyUSB1 --mcu-power /dev/ttyUSB1=dtr --trust-key /etc/edgepilot/firmware.pub`,
    )
    .action(async (_flags: AgentFlags, command: Command) => {
      // --hub is also the CLI's global option; commander hands it to the root, so merge.
      const flags = command.optsWithGlobals<AgentFlags>();
      const { runAgentUntilSignal } = await import('./run.js');
      await runAgentUntilSignal(agentConfigFromFlags(flags));
    });
}
