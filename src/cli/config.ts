import { defaultCliConfigPath } from '../common/paths.js';
import { cliConfigSchema, type CliConfig } from '../protocol/index.js';
import { CliError } from './errors.js';
import { readSettingsFile, SettingsFileError } from '../common/yaml-settings-file.js';

/** The hub's default address: TLS, as the hub serves by default (its CA comes from the config file or `login`). */
export const DEFAULT_HUB_URL = 'https://127.0.0.1:7080';

export interface GlobalFlags {
  hub?: string;
  token?: string;
  config?: string;
}

export interface ResolvedConfig {
  hubUrl: string;
  token?: string;
  /** The hub's CA (PEM) from the config file, when the config file's hub is the one in use. */
  ca?: string;
  /** Where each value came from, for error messages ("token from EDGEPILOT_TOKEN"). */
  source: { hub: string; token: string };
}

const EMPTY: CliConfig = { apiVersion: 'edgepilot.io/v1', kind: 'Config' };

/**
 * Reads and checks the config file. Every error is one line naming the file, the line and the
 * problem, like a manifest error: the technician has to find it in an editor.
 */
export async function readConfigFile(path: string, explicit: boolean): Promise<CliConfig> {
  try {
    return await readSettingsFile(path, cliConfigSchema, 'config file');
  } catch (err) {
    if (!(err instanceof SettingsFileError)) throw err;
    if (err.code === 'missing' && !explicit) return EMPTY;
    throw new CliError(err.message);
  }
}

/**
 * Flags beat the environment, which beats the config file, as with kubectl. The file is read
 * only for what flags and environment leave open, so a broken file never blocks
 * `--hub ... --token ...` (the way out of a broken file).
 */
export async function resolveConfig(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  const path = flags.config ?? defaultCliConfigPath(env);
  const hubGiven = flags.hub ? { value: flags.hub, from: '--hub' } : env['EDGEPILOT_HUB'] ? { value: env['EDGEPILOT_HUB'], from: 'EDGEPILOT_HUB' } : undefined;
  const tokenGiven = flags.token ? { value: flags.token, from: '--token' } : env['EDGEPILOT_TOKEN'] ? { value: env['EDGEPILOT_TOKEN'], from: 'EDGEPILOT_TOKEN' } : undefined;
  // With hub and token given, a broken file must not block (it is the way out of one); it is read only for the CA.
  const file = hubGiven && tokenGiven ? await readConfigFile(path, false).catch(() => EMPTY) : await readConfigFile(path, flags.config !== undefined);
  const hub = hubGiven ?? (file.hub ? { value: file.hub, from: path } : { value: DEFAULT_HUB_URL, from: 'default' });
  const token = tokenGiven ?? (file.token ? { value: file.token, from: path } : undefined);
  const hubUrl = hub.value.replace(/\/+$/, '');
  // The file's CA vouches for the file's hub only, never for another one named by a flag.
  const ca = file.ca !== undefined && file.hub !== undefined && file.hub.replace(/\/+$/, '') === hubUrl ? file.ca : undefined;
  return {
    hubUrl,
    ...(token ? { token: token.value } : {}),
    ...(ca ? { ca } : {}),
    source: { hub: hub.from, token: token?.from ?? 'none' },
  };
}
