import { homedir } from 'node:os';
import { join } from 'node:path';

/** XDG base directories, so edgepilot behaves like other well-mannered Linux tools. */
export function configHome(env: NodeJS.ProcessEnv = process.env): string {
  return env['XDG_CONFIG_HOME'] || join(homedir(), '.config');
}

export function dataHome(env: NodeJS.ProcessEnv = process.env): string {
  return env['XDG_DATA_HOME'] || join(homedir(), '.local', 'share');
}

export function defaultCliConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return env['EDGEPILOT_CONFIG'] || join(configHome(env), 'edgepilot', 'config.yaml');
}
