// The nemesis harness's fleet: a real hub process on a small tmpfs, and agent processes each in its
// own network namespace, reaching the hub through a fault proxy (MQTT) and a plain forwarder (API)
// on their veth link, with libfaketime (Debian's faketime) under them for clock steps.
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, readdir, readlink, rm, statfs, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createJoinToken, isolatedEnv, startHubProcess, type HubHandle } from '../fleet.js';
import { freePort, restartMosquitto, startMosquitto, type StartedMosquitto } from '../mosquitto.js';
import { edgepilotBin } from '../paths.js';
import { ManagedProcess } from '../processes.js';
import type { Sample } from './history.js';
import { FaultProxy } from './mqtt-fault-proxy.js';
import { createAgentNetwork, freeSubnetOctet, removeAgentNetwork, setLink, type AgentNetwork } from './netns.js';

const run = promisify(execFile);

/** Debian's libfaketime (package faketime/libfaketime); the offset file is re-read on every call. */
export const FAKETIME_LIBRARY = '/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1';

export interface NemesisAgent {
  index: number;
  hardwareId: string;
  stateDir: string;
  deviceId: string;
  net: AgentNetwork;
  mqttProxy: FaultProxy;
  apiProxy: FaultProxy;
  /** Holds the agent's wall-clock offset for libfaketime ("+0s", "+3600s", "-7200s"). */
  clockFile: string;
  proc: ManagedProcess;
  /** Output of every process this agent has been, so a lost credential shows whenever it happened. */
  pastOutput: string;
}

/** The broker under the hub: its embedded one, or a Mosquitto (dynamic security, persistence) it is pointed at with --broker. */
export type NemesisBroker = 'embedded' | 'mosquitto';

export class NemesisCluster {
  hub!: HubHandle;
  readonly agents: NemesisAgent[] = [];
  /** With `broker: 'mosquitto'`: the Mosquitto the hub and agents use. */
  mosquitto: StartedMosquitto | undefined;
  private readonly pastHubs: ManagedProcess[] = [];

  /** Output of every hub process killed so far. */
  get pastHubOutput(): string {
    return this.pastHubs.map((p) => p.output).join('\n--- hub restarted ---\n');
  }
  private ports = { apiPort: 0, mqttPort: 0 };
  private mounted = false;
  readonly hubData: string;

  constructor(
    readonly runId: string,
    readonly root: string,
    private readonly random: () => number,
    readonly broker: NemesisBroker = 'embedded',
  ) {
    this.hubData = join(root, 'hub');
  }

  /** The hub's flags for its broker: none for the embedded one; Mosquitto's admin URL and dynamic security otherwise. */
  private get hubBroker(): { broker?: string; extraArgs: string[] } {
    return this.mosquitto ? { broker: this.mosquitto.url, extraArgs: ['--broker-dynsec'] } : { extraArgs: [] };
  }

  async start(agentCount: number): Promise<void> {
    await mkdir(this.hubData, { recursive: true });
    // A small tmpfs of its own, so the full-disk fault fills only the hub's data folder.
    await run('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0700', `epn-${this.runId}`, this.hubData]);
    this.mounted = true;
    this.ports = { apiPort: await freePort(), mqttPort: await freePort() };
    if (this.broker === 'mosquitto') {
      const folder = join(this.root, 'mosquitto');
      await mkdir(folder, { recursive: true });
      this.mosquitto = await startMosquitto(folder, { dynsec: true, persistence: true });
      // Agents reach Mosquitto through their fault proxies on its port; the hub connects to it directly.
      this.ports.mqttPort = this.mosquitto.port;
    }
    this.hub = await startHubProcess({ root: this.root, dataDir: this.hubData, ...this.ports, ...this.hubBroker });
    const token = await createJoinToken(this.hub, ['--description', 'nemesis', '--max-uses', '100']);
    // A firmware signing key the hub trusts (durably, in its data folder), for the generator's pushes.
    for (const args of [['firmware', 'keygen', '--out', join(this.root, 'nemesis-fw')], ['firmware', 'trust', join(this.root, 'nemesis-fw.pub')]]) {
      const result = await this.hub.cli(args);
      if (result.code !== 0) throw new Error(`${args.slice(0, 2).join(' ')}: ${result.stderr}`);
    }
    const octet = await freeSubnetOctet(this.random);
    for (let index = 0; index < agentCount; index++) await this.startAgent(index, token, octet);
  }

  /** Joins one agent; it is in `agents` before it starts, so `destroy` cleans up after a failed start too. */
  private async startAgent(index: number, joinToken: string, octet: number): Promise<void> {
    const net = await createAgentNetwork(this.runId, octet, index);
    const proxy = (target: number, mqtt: boolean): FaultProxy =>
      new FaultProxy({ listenHost: net.hostAddress, listenPort: target, targetHost: '127.0.0.1', targetPort: target, mqtt, random: this.random });
    const mqttProxy = proxy(this.ports.mqttPort, true);
    const apiProxy = proxy(this.ports.apiPort, false);
    const clockFile = join(this.root, `clock-${index}`);
    await writeFile(clockFile, '+0s\n');
    const agent: NemesisAgent = {
      index,
      hardwareId: `nemesis-${this.runId}-${index}`,
      stateDir: join(this.root, `agent-${index}`),
      deviceId: '',
      net,
      mqttProxy,
      apiProxy,
      clockFile,
      proc: undefined as unknown as ManagedProcess,
      pastOutput: '',
    };
    this.agents.push(agent);
    await mqttProxy.start();
    await apiProxy.start();
    agent.proc = this.spawnAgent(agent, joinToken);
    agent.deviceId = (await agent.proc.waitForOutput(/joined the fleet as (\S+)/, 60_000))[1] ?? '';
  }

  private spawnAgent(agent: NemesisAgent, joinToken?: string): ManagedProcess {
    const hub = `http://${agent.net.hostAddress}:${this.ports.apiPort}`;
    const broker = `mqtt://${agent.net.hostAddress}:${this.ports.mqttPort}`;
    const args = ['agent', '--hub', hub, '--broker', broker, '--state-dir', agent.stateDir, '--hardware-id', agent.hardwareId, '--keepalive', '2', '--crash-backoff', '1', '--log-level', 'info'];
    if (joinToken) args.push('--join-token', joinToken);
    const env = {
      ...process.env,
      ...isolatedEnv(this.root),
      LD_PRELOAD: FAKETIME_LIBRARY,
      FAKETIME_TIMESTAMP_FILE: agent.clockFile,
      FAKETIME_NO_CACHE: '1',
      // Only the wall clock steps; timers (monotonic) keep running, as on a board whose NTP jumps.
      DONT_FAKE_MONOTONIC: '1',
    };
    const child = spawn('ip', ['netns', 'exec', agent.net.namespace, process.execPath, edgepilotBin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    return new ManagedProcess(`agent-${agent.index}`, child);
  }

  async killHub(): Promise<void> {
    await this.hub.proc.kill('SIGKILL');
    this.pastHubs.push(this.hub.proc);
  }

  async restartHub(): Promise<void> {
    this.hub = await startHubProcess({ root: this.root, dataDir: this.hubData, adminToken: this.hub.adminToken, ...this.ports, ...this.hubBroker });
  }

  get brokerRunning(): boolean {
    return this.mosquitto?.proc.running ?? true;
  }

  /** Stops Mosquitto as its service manager would (SIGTERM: it saves its messages and accounts). */
  async stopBroker(): Promise<void> {
    await this.mosquitto?.proc.kill('SIGTERM');
  }

  async startBroker(): Promise<void> {
    if (this.mosquitto && !this.mosquitto.proc.running) await restartMosquitto(this.mosquitto);
  }

  async killAgent(agent: NemesisAgent): Promise<void> {
    await agent.proc.kill('SIGKILL');
    agent.pastOutput += agent.proc.output;
  }

  /** Restarted without its join token: only the credentials it kept can bring it back. */
  restartAgent(agent: NemesisAgent): void {
    agent.proc = this.spawnAgent(agent);
  }

  partition(agent: NemesisAgent, cut: boolean): Promise<void> {
    return setLink(agent.net, !cut);
  }

  async stepClock(agent: NemesisAgent, offsetSeconds: number): Promise<void> {
    await writeFile(agent.clockFile, `${offsetSeconds >= 0 ? '+' : ''}${offsetSeconds}s\n`);
  }

  private get fillerPath(): string {
    return join(this.hubData, 'nemesis-filler');
  }

  /** Fills the hub's tmpfs to the last block. */
  async fillDisk(): Promise<void> {
    const s = await statfs(this.hubData);
    await writeFile(this.fillerPath, Buffer.alloc(Math.max(0, s.bavail * s.bsize - 4096))).catch(() => undefined);
    await writeFile(`${this.fillerPath}-2`, Buffer.alloc(64 * 1024)).catch(() => undefined);
  }

  async freeDisk(): Promise<void> {
    await unlink(this.fillerPath).catch(() => undefined);
    await unlink(`${this.fillerPath}-2`).catch(() => undefined);
  }

  /** Every workload process of this run that is alive now, with the device (agent state folder) it runs under. */
  async runningProcesses(): Promise<Sample['processes'][number][]> {
    const found: Sample['processes'][number][] = [];
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      let environ: string;
      let cwd: string;
      try {
        environ = await readFile(`/proc/${pid}/environ`, 'utf8');
        if (!environ.includes(`NEMESIS_RUN=${this.runId}`)) continue;
        cwd = await readlink(`/proc/${pid}/cwd`);
      } catch {
        continue; // gone meanwhile, or a zombie
      }
      const env = new Map(environ.split('\0').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const));
      const agent = this.agents.find((a) => cwd.startsWith(`${a.stateDir}/`));
      const release = env.get('NEMESIS_RELEASE');
      found.push({
        device: agent?.deviceId ?? `unknown(${cwd})`,
        workload: env.get('EDGEPILOT_WORKLOAD') ?? '?',
        instance: env.get('EDGEPILOT_INSTANCE') ?? '?',
        marker: env.get('NEMESIS_MARK') ?? '?',
        ...(release !== undefined ? { release } : {}),
      });
    }
    return found;
  }

  /** Tears everything down, whatever state a failure left it in. */
  async destroy(): Promise<void> {
    await Promise.all([this.hub?.proc.kill('SIGKILL'), this.mosquitto?.proc.kill('SIGKILL'), ...this.agents.map((a) => a.proc?.kill('SIGKILL'))]);
    await this.killWorkloadProcesses();
    for (const a of this.agents) {
      await Promise.all([a.mqttProxy.stop(), a.apiProxy.stop()]);
      await removeAgentNetwork(a.net);
    }
    if (this.mounted) await run('umount', ['-l', this.hubData]).catch(() => undefined);
    await rm(this.root, { recursive: true, force: true });
  }

  private async killWorkloadProcesses(): Promise<void> {
    for (const pid of await readdir('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
      if (environ.includes(`NEMESIS_RUN=${this.runId}`)) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
  }
}
