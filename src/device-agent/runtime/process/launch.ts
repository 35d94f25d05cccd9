import { spawn, type ChildProcess } from 'node:child_process';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProcessTemplate } from '../../../protocol/index.js';
import { ensureDir } from '../../../common/durable-file.js';
import { logPath } from './log-files.js';

/** `data-dir` → `EDGEPILOT_VOLUME_DATA_DIR`. */
export const volumeEnvName = (name: string): string => `EDGEPILOT_VOLUME_${name.toUpperCase().replace(/-/g, '_')}`;

/**
 * The agent's own environment may hold credentials (hub tokens, registry auth), so a process
 * gets only what a program needs to run (PATH, HOME, locale, time zone), then the instance's
 * identity, its volumes and the template's env (which wins).
 */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ'] as const;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Creates volume folders (named: `<stateDir>/volumes/<workload>/<name>`, or the host path) and returns the env for them. */
export async function prepareVolumes(stateDir: string, workload: string, template: ProcessTemplate): Promise<Record<string, string>> {
  const env: Record<string, string> = {};
  for (const volume of template.volumes) {
    // The workload name is not path-safe by schema; keep it from climbing out of volumes/.
    const path = volume.hostPath ?? join(stateDir, 'volumes', workload.replace(/[^a-zA-Z0-9_.-]/g, '_').replace(/^\.+/, '_'), volume.name);
    await ensureDir(path, 0o755);
    env[volumeEnvName(volume.name)] = path;
  }
  return env;
}

export function instanceEnv(identity: { id: string; workload: string; revision: string }, volumeEnv: Record<string, string>, template: ProcessTemplate): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  env['PATH'] ??= DEFAULT_PATH;
  return {
    ...env,
    EDGEPILOT_INSTANCE: identity.id,
    EDGEPILOT_WORKLOAD: identity.workload,
    EDGEPILOT_REVISION: identity.revision,
    ...volumeEnv,
    ...template.env,
  };
}

/**
 * Starts the instance's process in its own process group (detached: the agent's death or its
 * terminal's SIGINT does not reach it, and stop can signal the whole group) with stdout and
 * stderr appended by the child itself to files. No pipe passes through the agent, so when the
 * agent dies the child neither blocks on a full pipe nor gets SIGPIPE.
 */
export interface Launched {
  child: ChildProcess;
  /** Listened for from the moment of spawning: a short-lived process may be gone before the caller looks. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function launchProcess(folder: string, argv: readonly string[], env: Record<string, string>, cwd: string): Promise<Launched> {
  const info = await stat(cwd).catch(() => undefined);
  if (info?.isDirectory() !== true) throw new Error(`working directory ${cwd} does not exist`);
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('a process needs a command');
  // O_APPEND ('a'): every write lands at the current end, so copy-truncate rotation works.
  const stdout = await open(logPath(folder, 'stdout'), 'a', 0o600);
  const stderr = await open(logPath(folder, 'stderr'), 'a', 0o600);
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', stdout.fd, stderr.fd], env, cwd });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    // The agent must be able to exit while its instances run on.
    child.unref();
    return { child, exited };
  } catch (err) {
    throw new Error(`cannot start ${JSON.stringify(command)}: ${(err as Error).message}`);
  } finally {
    // The child has its own copies of the descriptors.
    await stdout.close();
    await stderr.close();
  }
}
