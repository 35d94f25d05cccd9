// Hosts of their own for tests (issue 14's services): network namespaces joined by veth pairs to a
// bridge in the root namespace (where the hub listens on the bridge's address), each with its own
// dockerd, so a container on host networking lives in that namespace like on a separate board.
// Names are unique per run; everything made is undone by cleanup(), also after a failure.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ManagedProcess } from './processes.js';
import { edgepilotBin } from './paths.js';
import { waitFor } from './wait.js';

const exec = promisify(execFile);

async function run(command: string, ...args: string[]): Promise<string> {
  try {
    return (await exec(command, args, { timeout: 60_000 })).stdout.trim();
  } catch (err) {
    throw new Error(`${command} ${args.join(' ')} failed: ${(err as Error).message}`);
  }
}

export interface NetnsHost {
  name: string;
  /** The namespace's path, for nsenter --net. */
  netnsPath: string;
  address: string;
  /** The host's own dockerd, once started. */
  dockerSocket?: string;
}

/** A private /24 no route of this machine uses yet (never the host's 192.0.2.0/24). */
async function freeSubnet(): Promise<string> {
  const routes = await run('ip', '-4', 'route', 'show', 'table', 'all');
  for (let i = 0; i < 50; i++) {
    const prefix = `10.${randomInt(200, 250)}.${randomInt(0, 256)}`;
    if (!routes.includes(`${prefix}.`)) return prefix;
  }
  throw new Error('no free 10.x.y.0/24 subnet found for the test network');
}

export class TestNetwork {
  readonly tag = randomBytes(3).toString('hex');
  readonly bridge = `epsb${this.tag}`;
  readonly hosts: NetnsHost[] = [];
  private prefix = '';
  private readonly dockerds: { pidFile: string; root: string; child: ChildProcess }[] = [];
  private bridgeMade = false;

  constructor(private readonly dir: string) {}

  /** The root namespace's address on the bridge (the hub listens here). */
  get gateway(): string {
    return `${this.prefix}.1`;
  }

  async create(): Promise<void> {
    this.prefix = await freeSubnet();
    await run('ip', 'link', 'add', this.bridge, 'type', 'bridge');
    this.bridgeMade = true;
    await run('ip', 'addr', 'add', `${this.gateway}/24`, 'dev', this.bridge);
    await run('ip', 'link', 'set', this.bridge, 'up');
  }

  async addHost(short: string): Promise<NetnsHost> {
    const name = `eps-${this.tag}-${short}`;
    const index = this.hosts.length + 10;
    const host: NetnsHost = { name, netnsPath: `/var/run/netns/${name}`, address: `${this.prefix}.${index}` };
    await run('ip', 'netns', 'add', name);
    this.hosts.push(host);
    const outside = `epv${this.tag}${short}`.slice(0, 15);
    await run('ip', 'link', 'add', outside, 'type', 'veth', 'peer', 'name', `epi${this.tag}${short}`.slice(0, 15));
    await run('ip', 'link', 'set', `epi${this.tag}${short}`.slice(0, 15), 'netns', name);
    await run('ip', '-n', name, 'link', 'set', `epi${this.tag}${short}`.slice(0, 15), 'name', 'eth0');
    await run('ip', 'link', 'set', outside, 'master', this.bridge);
    await run('ip', 'link', 'set', outside, 'up');
    await run('ip', '-n', name, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0');
    await run('ip', '-n', name, 'link', 'set', 'eth0', 'up');
    await run('ip', '-n', name, 'link', 'set', 'lo', 'up');
    return host;
  }

  /**
   * A dockerd inside the host's namespace (nsenter --net only: `ip netns exec` remounts /sys and
   * dockerd then finds no cgroups), with the test image copied from the machine's engine.
   */
  async startDockerd(host: NetnsHost): Promise<string> {
    const root = join(this.dir, `docker-${host.name}`);
    await mkdir(root, { recursive: true });
    const socket = join(root, 'docker.sock');
    const pidFile = join(root, 'dockerd.pid');
    const child = spawn(
      'nsenter',
      [`--net=${host.netnsPath}`, 'dockerd', '--host', `unix://${socket}`, '--data-root', join(root, 'data'), '--exec-root', join(root, 'exec'), '--pidfile', pidFile, '--storage-driver', 'overlay2', '--iptables=false', '--bridge=none', '--ip-forward=false'],
      { stdio: 'ignore' },
    );
    this.dockerds.push({ pidFile, root, child });
    await waitFor(`dockerd in ${host.name}`, async () => (await exec('docker', ['-H', `unix://${socket}`, 'version']).then(() => true, () => false)), 30_000, 200);
    await run('sh', '-c', `docker save local/busybox:latest | docker -H unix://${socket} load`);
    host.dockerSocket = socket;
    return socket;
  }

  /** The edgepilot CLI binary run inside the host's namespace (an agent, with its own dockerd). */
  spawnInHost(host: NetnsHost, name: string, args: string[], env: NodeJS.ProcessEnv): ManagedProcess {
    const child = spawn('nsenter', [`--net=${host.netnsPath}`, process.execPath, edgepilotBin, ...args], {
      env: { ...process.env, EDGEPILOT_LOG_LEVEL: 'debug', ...(host.dockerSocket ? { DOCKER_HOST: `unix://${host.dockerSocket}` } : {}), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new ManagedProcess(name, child);
  }

  async cleanup(): Promise<void> {
    for (const d of this.dockerds) {
      const socket = join(d.root, 'docker.sock');
      const ids = await exec('docker', ['-H', `unix://${socket}`, 'ps', '-aq']).then((r) => r.stdout.trim().split('\n').filter(Boolean), () => []);
      if (ids.length > 0) await exec('docker', ['-H', `unix://${socket}`, 'rm', '-f', ...ids]).catch(() => undefined);
      const pid = Number((await readFile(d.pidFile, 'utf8').catch(() => '')).trim());
      if (pid > 0) {
        process.kill(pid, 'SIGTERM');
        await waitFor('dockerd to stop', () => !alive(pid), 30_000, 100).catch(() => process.kill(pid, 'SIGKILL'));
      } else d.child.kill('SIGKILL');
      // dockerd leaves mounts under its roots (exec-root/netns/default, overlays) when it dies hard.
      const mounts = (await readFile('/proc/mounts', 'utf8')).split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(d.root));
      for (const m of mounts.reverse()) await exec('umount', ['-l', m]).catch(() => undefined);
    }
    for (const host of this.hosts) await exec('ip', ['netns', 'del', host.name]).catch(() => undefined);
    if (this.bridgeMade) await exec('ip', ['link', 'del', this.bridge]).catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
