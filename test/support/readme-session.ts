// A machine for running README.md as written: a network namespace of its own (so `npm start`
// takes the default ports 7080 and 1883 without meeting anyone else's, and `hub.plant-3`
// resolves, through the namespace's own /etc/hosts, to the hub in it), a technician's HOME
// where `npm start` writes the CLI config, and a "board": a second HOME with its own
// /etc/machine-id (a mount namespace), so an agent started there is a different device, and
// with a USB serial adapter at /dev/ttyUSB0 (the port the README's tilt-reader passes through):
// in the board's mount namespace a kernel-shaped /sys/class/tty lists it (test/support/
// fake-sysfs.ts) and /dev, an overlay of the machine's own, has /dev/ttyUSB0 linked to a socat
// pseudo-terminal — the machine's /dev is never written.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { FTDI_ADAPTER, makeFakeClassTty } from './fake-sysfs.js';
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
  /** The board's /sys/class/tty (made by setUp) and where each board shell mounts its /dev overlay. */
  private readonly boardClassTty: string;
  private readonly boardDevScratch: string;
  private readonly daemons: ManagedProcess[] = [];

  constructor(readonly root: string) {
    this.home = join(root, 'home');
    this.boardHome = join(root, 'board');
    this.workdir = join(root, 'work');
    this.boardClassTty = join(root, 'board-sysfs', 'sys', 'class', 'tty');
    this.boardDevScratch = join(root, 'board-dev');
  }

  async setUp(): Promise<void> {
    await mkdir(this.home, { recursive: true });
    await mkdir(this.boardHome, { recursive: true });
    await mkdir(this.workdir, { recursive: true });
    await writeFile(join(this.boardHome, 'machine-id'), '0b0a2d0000000000000000000000beef\n');
    await makeFakeClassTty(join(this.root, 'board-sysfs'), FTDI_ADAPTER, '/sys/class/tty');
    await mkdir(this.boardDevScratch, { recursive: true });
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
      // The README's hub machine is hub.plant-3 (the namespace's hosts file says so); a real one
      // would be named that, and the hub puts its own host name into its certificate.
      ...(machine === 'board' ? {} : { EDGEPILOT_TLS_SAN: 'hub.plant-3' }),
      ...(process.env['DOCKER_HOST'] ? { DOCKER_HOST: process.env['DOCKER_HOST'] } : {}),
    };
  }

  private argv(machine: Machine, script: string): string[] {
    const inNetns = ['netns', 'exec', this.netns];
    if (machine === 'technician') return [...inNetns, 'bash', '-c', script];
    return [...inNetns, 'unshare', '--mount', '--propagation', 'private', 'bash', '-c', `${this.boardMounts()}\n${script}`];
  }

  /**
   * The board's machine id and serial adapter, set up in its mount namespace before each line.
   * /dev becomes an overlay (on a tmpfs private to this shell) of the machine's /dev with its
   * pts and shm mounts, so socat can link /dev/ttyUSB0 there without touching the machine's
   * /dev. The link names a /dev/pts node of the machine's devpts, which is what the agent
   * resolves and Docker (outside this namespace) bind-mounts into the container.
   */
  private boardMounts(): string {
    const scratch = JSON.stringify(this.boardDevScratch);
    const port = `/dev/${FTDI_ADAPTER.name}`;
    return [
      'set -e',
      `mount --bind ${JSON.stringify(join(this.boardHome, 'machine-id'))} /etc/machine-id`,
      `mount -t tmpfs tmpfs ${scratch}`,
      `mkdir ${scratch}/upper ${scratch}/work ${scratch}/dev`,
      `mount -t overlay overlay -o lowerdir=/dev,upperdir=${scratch}/upper,workdir=${scratch}/work ${scratch}/dev`,
      `mount --rbind /dev/pts ${scratch}/dev/pts`,
      `mount --rbind /dev/shm ${scratch}/dev/shm`,
      `mount --move ${scratch}/dev /dev`,
      `mount --bind ${JSON.stringify(this.boardClassTty)} /sys/class/tty`,
      `socat pty,raw,echo=0,link=${port} pty,raw,echo=0,link=${scratch}/peer &`,
      'socat_pid=$!',
      'trap \'kill $socat_pid 2>/dev/null\' EXIT',
      `for _ in $(seq 100); do [ -e ${port} ] && break; sleep 0.05; done`,
      `[ -e ${port} ] || { echo "board: socat did not link ${port}" >&2; exit 1; }`,
      'set +e',
    ].join('\n');
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
