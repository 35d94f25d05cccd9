import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { ExecResult } from '../runtime.js';

/** Output beyond this is dropped: probe output is for humans and must not grow the agent's memory. */
const MAX_EXEC_OUTPUT = 64 * 1024;

/** Exit status as a shell reports it: the code, or 128 + the signal number when killed. */
export const exitCodeOf = (code: number | null, signal: NodeJS.Signals | null): number | null =>
  code ?? (signal !== null ? 128 + (osConstants.signals[signal] ?? 0) : null);

/** Runs a command on the host with the instance's environment; on timeout its whole group is killed. */
export function execOnHost(command: string[], env: Record<string, string>, cwd: string, timeoutMs: number): Promise<ExecResult> {
  const [file, ...args] = command;
  if (file === undefined) return Promise.reject(new Error('exec needs a command'));
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      if (output.length < MAX_EXEC_OUTPUT) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
      reject(new Error(`exec ${JSON.stringify(command)} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    // Like a shell: a command that cannot be started is exit code 127, not an agent error.
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ exitCode: 127, output: `${err.message}\n` });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: exitCodeOf(code, signal) ?? 1, output: output.slice(0, MAX_EXEC_OUTPUT) });
    });
  });
}
