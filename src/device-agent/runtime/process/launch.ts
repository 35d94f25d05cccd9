import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Duplex } from 'node:stream';
import type { ProcessTemplate } from '../../../protocol/index.js';
import { ensureDir } from '../../../common/durable-file.js';
import { logPath } from './log-files.js';
import { errnoCode, errorMessage } from '../../../common/errors.js';

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
 *
 * The program does not run at once: what is spawned is a gate, a shell that waits for one line on
 * fd 3 and only then execs the program (same pid, same process group, same start time). The
 * caller writes the instance record with the gate's pid durably and then calls `release()`. An
 * agent SIGKILLed before that closes fd 3 by dying: the gate reads end-of-file and exits without
 * running anything, so no process can run that the record does not name. Just before the exec
 * the gate creates `released` in the folder: a record without it names a program that never ran.
 */
export interface Launched {
  child: ChildProcess;
  /** Listened for from the moment of spawning: a short-lived process may be gone before the caller looks. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Lets the gate exec the program (call once its record is on disk); resolves once it did. */
  release(): Promise<void>;
  /** Makes the gate exit without running the program (the record could not be written). */
  abandon(): Promise<void>;
}

export const RELEASED_FILE = 'released';

/** Exit status of a gate that was not released: the program never ran. */
export const GATE_ABANDONED_EXIT = 125;

// `$1` is the marker path, the rest the program's argv. dash exports PWD, which a directly spawned
// program would not get, so it is unset unless the instance's env sets it. fd 3 is closed for the program.
const gateScript = (keepPwd: boolean): string =>
  `${keepPwd ? '' : 'unset PWD; '}IFS= read -r go <&3 || exit ${GATE_ABANDONED_EXIT}; m=$1; shift; : > "$m" || exit ${GATE_ABANDONED_EXIT}; exec "$@" 3<&-`;

/** Fails like spawn would (ENOENT, EACCES) for a program that cannot be executed, before the gate is spawned. */
async function checkExecutable(command: string, path: string | undefined, cwd: string): Promise<void> {
  const candidates = command.includes('/') ? [resolvePath(cwd, command)] : (path ?? '').split(':').filter((dir) => dir !== '').map((dir) => resolvePath(cwd, dir, command));
  let lastError: NodeJS.ErrnoException = Object.assign(new Error(`spawn ${command} ENOENT`), { code: 'ENOENT' });
  for (const candidate of candidates) {
    try {
      const info = await stat(candidate);
      if (!info.isFile()) throw Object.assign(new Error(`spawn ${command} EACCES`), { code: 'EACCES' });
      await access(candidate, constants.X_OK);
      return;
    } catch (err) {
      const code = errnoCode(err);
      if (code !== 'ENOENT') lastError = Object.assign(new Error(`spawn ${command} ${code ?? 'EACCES'}`), { code });
    }
  }
  throw lastError;
}

export async function launchProcess(folder: string, argv: readonly string[], env: Record<string, string>, cwd: string): Promise<Launched> {
  const info = await stat(cwd).catch(() => undefined);
  if (info?.isDirectory() !== true) throw new Error(`working directory ${cwd} does not exist`);
  const [command, ...args] = argv;
  if (command === undefined) throw new Error('a process needs a command');
  try {
    await checkExecutable(command, env['PATH'], cwd);
  } catch (err) {
    throw new Error(`cannot start ${JSON.stringify(command)}: ${errorMessage(err)}`);
  }
  // O_APPEND ('a'): every write lands at the current end, so copy-truncate rotation works.
  const stdout = await open(logPath(folder, 'stdout'), 'a', 0o600);
  const stderr = await open(logPath(folder, 'stderr'), 'a', 0o600);
  try {
    const gateArgs = ['-c', gateScript('PWD' in env), 'edgepilot-gate', join(folder, RELEASED_FILE), command, ...args];
    const child = spawn('/bin/sh', gateArgs, { detached: true, stdio: ['ignore', stdout.fd, stderr.fd, 'pipe'], env, cwd });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
    // The agent must be able to exit while its instances run on.
    child.unref();
    const gate = child.stdio[3] as Duplex;
    // A gate that died already (EPIPE) shows as an exit, not as an error of the agent.
    gate.on('error', () => undefined);
    // The gate closes fd 3 as it execs the program (or exits): waiting for that end-of-file makes
    // `release` return once the program runs, so a stop right after start signals the program,
    // not the shell before it. For `abandon`, our end-of-file is what makes the gate exit.
    const finish = (line: string): Promise<void> =>
      new Promise<void>((done) => {
        // Already closed when the gate was killed (a stop during the start) before this call.
        if (gate.closed) return done();
        gate.once('close', () => done()); // also after an error, which destroys the stream
        gate.resume();
        gate.end(line);
      });
    return { child, exited, release: () => finish('go\n'), abandon: () => finish('') };
  } catch (err) {
    throw new Error(`cannot start ${JSON.stringify(command)}: ${errorMessage(err)}`);
  } finally {
    // The child has its own copies of the descriptors.
    await stdout.close();
    await stderr.close();
  }
}
