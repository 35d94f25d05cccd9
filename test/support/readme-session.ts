// A machine for running README.md as written: a network namespace of its own (so `npm start`
// takes the default ports 7080 and 1883 without meeting anyone else's, and `hub.plant-3`
// resolves, through the namespace's own /etc/hosts, to the hub in it), a technician's HOME
// where `npm start` writes the CLI config, and a "board": a second HOME with its own
// /etc/machine-id (a mount namespace), so an agent started there is a different device.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { edgepilotBin, repoRoot } from './paths.js';
import { ManagedProcess } from './processes.js';

export type Machine = 'technician' | 'board';

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `edgepilot` in a README line is this repository's bin/edgepilot.js (what the README's alias makes it). */
const PRELUDE = `edgepilot() { node ${JSON.stringify(edgepilotBin)} "$@"; }\n`;

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error?.message || `status ${r.status}`}`);
}

export class ReadmeSession {
  readonly netns = `ep-readme-${process.pid}`;
  readonly home: string;
  readonly boardHome: string;
  /** Where README commands run (manifests are written here; a copy of hardware/ for `make -C hardware`). */
  readonly workdir: string;
  private readonly daemons: ManagedProcess[] = [];

  constructor(readonly root: string) {
    this.home = join(root, 'home');
    this.boardHome = join(root, 'board');
    this.workdir = join(root, 'work');
  }

  async setUp(): Promise<void> {
    await mkdir(this.home, { recursive: true });
    await mkdir(this.boardHome, { recursive: true });
    await mkdir(this.workdir, { recursive: true });
    await writeFile(join(this.boardHome, 'machine-id'), '0b0a2d0000000000000000000000beef\n');
    await cp(join(repoRoot, 'hardware'), join(this.workdir, 'hardware'), { recursive: true, filter: (src) => !src.startsWith(join(repoRoot, 'hardware', 'build')) });
    ip('netns', 'add', this.netns);
    ip('-n', this.netns, 'link', 'set', 'lo', 'up');
    // `ip netns exec` mounts /etc/netns/<name>/hosts over /etc/hosts inside the namespace.
    await mkdir(`/etc/netns/${this.netns}`, { recursive: true });
    await writeFile(`/etc/netns/${this.netns}/hosts`, '127.0.0.1 localhost\n127.0.0.1 hub.plant-3\n');
  }

  /** The environment of a login on that machine: its HOME, nothing of the test's own settings. */
  env(machine: Machine): NodeJS.ProcessEnv {
    return {
      PATH: process.env['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: machine === 'board' ? this.boardHome : this.home,
      LANG: 'C.UTF-8',
      ...(process.env['DOCKER_HOST'] ? { DOCKER_HOST: process.env['DOCKER_HOST'] } : {}),
    };
  }

  private argv(machine: Machine, script: string): string[] {
    const inNetns = ['netns', 'exec', this.netns];
    if (machine === 'technician') return [...inNetns, 'bash', '-c', script];
    return [...inNetns, 'unshare', '--mount', '--propagation', 'private', 'bash', '-c', `mount --bind ${join(this.boardHome, 'machine-id')} /etc/machine-id && ${script}`];
  }

  private spawn(machine: Machine, line: string, cwd: string): ChildProcess {
    return spawn('ip', this.argv(machine, `${PRELUDE}${line}`), { cwd, env: this.env(machine), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  }

  /** Runs one README line in bash on `machine`, to completion (bounded by `timeoutMs`). */
  async run(line: string, options: { machine?: Machine; cwd?: string; timeoutMs?: number } = {}): Promise<ShellResult> {
    const child = this.spawn(options.machine ?? 'technician', line, options.cwd ?? this.workdir);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), options.timeoutMs ?? 120_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(timer);
    return { code, stdout, stderr };
  }

  /** Starts a README line that keeps running (a hub, an agent, a watch); stopped by stopAll or stop. */
  start(name: string, line: string, options: { machine?: Machine; cwd?: string } = {}): ManagedProcess {
    const proc = new ManagedProcess(name, this.spawn(options.machine ?? 'technician', line, options.cwd ?? this.workdir));
    this.daemons.push(proc);
    return proc;
  }

  async stop(proc: ManagedProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    if (!proc.running) return;
    killGroup(proc.child, signal);
    const timer = setTimeout(() => killGroup(proc.child, 'SIGKILL'), 10_000);
    await proc.exited;
    clearTimeout(timer);
  }

  async tearDown(): Promise<void> {
    for (const proc of this.daemons.reverse()) await this.stop(proc);
    // Anything still in our namespace was started by this test (an agent's workload process).
    const left = spawnSync('ip', ['netns', 'pids', this.netns], { encoding: 'utf8' }).stdout.split(/\s+/).filter(Boolean);
    for (const pid of left) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    spawnSync('ip', ['netns', 'del', this.netns]);
    await rm(`/etc/netns/${this.netns}`, { recursive: true, force: true });
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid) process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}
