import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { edgepilotBin } from './paths.js';

/** A child process whose output is kept, so a failing test can show what it said. */
export class ManagedProcess {
  output = '';
  private readonly listeners = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly name: string, readonly child: ChildProcess) {
    const collect = (chunk: Buffer): void => {
      this.output += chunk.toString('utf8');
      for (const l of this.listeners) l();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resolves with the first match of `pattern` in the output (already printed or still to come). */
  waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const match = this.output.match(pattern);
        if (match) {
          cleanup();
          resolve(match);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`${this.name}: no output matching ${pattern} within ${timeoutMs} ms; output so far:\n${this.output.slice(-3000)}`));
      }, timeoutMs);
      const onExit = (): void => {
        if (!check()) {
          cleanup();
          reject(new Error(`${this.name} exited before printing ${pattern}; output:\n${this.output.slice(-3000)}`));
        }
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        this.child.off('exit', onExit);
      };
      const listener = (): void => void check();
      this.listeners.add(listener);
      this.child.once('exit', onExit);
      check();
    });
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    await this.exited;
  }
}

export function spawnEdgepilot(name: string, args: string[], env: NodeJS.ProcessEnv = {}): ManagedProcess {
  const child = spawn(process.execPath, [edgepilotBin, ...args], {
    env: { ...process.env, EDGEPILOT_LOG_LEVEL: 'debug', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new ManagedProcess(name, child);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs one CLI command to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [edgepilotBin, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stdout, stderr };
}
