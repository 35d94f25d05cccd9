import { join } from 'node:path';
import { deviceViewSchema, listSchema, type DeviceView } from '../../src/protocol/index.js';
import { runCli, spawnEdgepilot, type CliResult, type ManagedProcess } from './processes.js';

export interface HubHandle {
  proc: ManagedProcess;
  apiUrl: string;
  brokerUrl: string;
  adminToken: string;
  cli(args: string[]): Promise<CliResult>;
  devices(): Promise<DeviceView[]>;
}

/** Environment that keeps a test away from the user's own config and data. */
export function isolatedEnv(root: string): NodeJS.ProcessEnv {
  return { XDG_CONFIG_HOME: join(root, 'config'), XDG_DATA_HOME: join(root, 'data') };
}

export async function startHubProcess(options: {
  root: string;
  dataDir: string;
  broker?: string;
  adminToken?: string;
  /** Fixed ports, for a hub that restarts under the same addresses; ephemeral by default. */
  apiPort?: number;
  mqttPort?: number;
  extraArgs?: string[];
  /** Serve https and mqtts (the hub's default); tests that are not about TLS run it --insecure. */
  tls?: boolean;
}): Promise<HubHandle> {
  const args = [
    'hub',
    '--data-dir', options.dataDir,
    '--listen', `127.0.0.1:${options.apiPort ?? 0}`,
    '--mqtt-listen', `127.0.0.1:${options.mqttPort ?? 0}`,
    '--no-write-config',
    ...(options.tls ? [] : ['--insecure']),
    ...(options.extraArgs ?? []),
  ];
  if (options.broker) args.push('--broker', options.broker);
  const proc = spawnEdgepilot('hub', args, isolatedEnv(options.root));
  const api = await proc.waitForOutput(/API listening on [^:]+:(\d+); agents use broker (\S+)/);
  let adminToken = options.adminToken;
  if (!adminToken) adminToken = (await proc.waitForOutput(/Admin token[^\n]*\n\s+(ep_\S+)/))[1];
  if (!adminToken) throw new Error('hub did not print an admin token');
  const apiUrl = `${options.tls ? 'https' : 'http'}://127.0.0.1:${api[1] ?? ''}`;
  const env = { ...isolatedEnv(options.root), EDGEPILOT_HUB: apiUrl, EDGEPILOT_TOKEN: adminToken };
  const cli = (cliArgs: string[]): Promise<CliResult> => runCli(cliArgs, env);
  return {
    proc,
    apiUrl,
    brokerUrl: api[2] ?? '',
    adminToken,
    cli,
    async devices() {
      const result = await cli(['get', 'devices', '-o', 'json']);
      if (result.code !== 0) throw new Error(`get devices failed: ${result.stderr}`);
      return listSchema(deviceViewSchema).parse(JSON.parse(result.stdout)).items;
    },
  };
}

export async function createJoinToken(hub: HubHandle, extra: string[] = []): Promise<string> {
  const result = await hub.cli(['token', 'create', ...extra]);
  if (result.code !== 0) throw new Error(`token create failed: ${result.stderr}`);
  return result.stdout.trim();
}

export function startAgentProcess(options: {
  name: string;
  root: string;
  hubUrl?: string;
  joinToken?: string;
  stateDir: string;
  hardwareId: string;
  keepaliveSeconds?: number;
  factsFile?: string;
  extraArgs?: string[];
  /** Added to the isolated environment (e.g. LD_PRELOAD of the bench's modem-lines library). */
  env?: Record<string, string>;
}): ManagedProcess {
  const args = ['agent', '--state-dir', options.stateDir, '--hardware-id', options.hardwareId, '--keepalive', String(options.keepaliveSeconds ?? 2)];
  if (options.hubUrl) args.push('--hub', options.hubUrl);
  if (options.joinToken) args.push('--join-token', options.joinToken);
  if (options.factsFile) args.push('--facts-file', options.factsFile);
  args.push(...(options.extraArgs ?? []));
  return spawnEdgepilot(options.name, args, { ...isolatedEnv(options.root), ...options.env });
}
