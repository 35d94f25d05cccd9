import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { defaultCliConfigPath } from '../common/paths.js';
import { cliConfigSchema, describeIssues, type CliConfig } from '../protocol/index.js';
import { CliError } from './errors.js';

export const DEFAULT_HUB_URL = 'http://127.0.0.1:7080';

export interface GlobalFlags {
  hub?: string;
  token?: string;
  config?: string;
}

export interface ResolvedConfig {
  hubUrl: string;
  token?: string;
  /** Where each value came from, for error messages ("token from EDGEPILOT_TOKEN"). */
  source: { hub: string; token: string };
}

async function readConfigFile(path: string, explicit: boolean): Promise<CliConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !explicit) return { apiVersion: 'edgepilot.io/v1', kind: 'Config' };
    throw new CliError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (err) {
    throw new CliError(`config ${path} is not valid YAML: ${(err as Error).message.split('\n')[0] ?? ''}`);
  }
  const parsed = cliConfigSchema.safeParse(raw);
  if (!parsed.success) throw new CliError(`config ${path}: ${describeIssues(parsed.error.issues)}`);
  return parsed.data;
}

/** Flags beat the environment, which beats the config file, as with kubectl. */
export async function resolveConfig(flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedConfig> {
  const path = flags.config ?? defaultCliConfigPath(env);
  const file = await readConfigFile(path, flags.config !== undefined);
  const hub = flags.hub ? { value: flags.hub, from: '--hub' } : env['EDGEPILOT_HUB'] ? { value: env['EDGEPILOT_HUB'], from: 'EDGEPILOT_HUB' } : file.hub ? { value: file.hub, from: path } : { value: DEFAULT_HUB_URL, from: 'default' };
  const token = flags.token ? { value: flags.token, from: '--token' } : env['EDGEPILOT_TOKEN'] ? { value: env['EDGEPILOT_TOKEN'], from: 'EDGEPILOT_TOKEN' } : file.token ? { value: file.token, from: path } : undefined;
  return {
    hubUrl: hub.value.replace(/\/+$/, ''),
    ...(token ? { token: token.value } : {}),
    source: { hub: hub.from, token: token?.from ?? 'none' },
  };
}
