// A fleet with a gateway for the hardware tests: a hub and a gateway agent as real processes
// (like test/integration), the emulated MCUs of hardware/bench in this process, signing keys
// made with the CLI, and helpers to ask the hub what it shows.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startBench, type Bench, type BenchOptions } from '../../../hardware/bench/bench.js';
import { listSchema, mcuViewSchema, type McuView } from '../../../src/protocol/index.js';
import { createJoinToken, startAgentProcess, startHubProcess, type HubHandle } from '../../support/fleet.js';
import { makeTempDir } from '../../support/paths.js';
import type { CliResult, ManagedProcess } from '../../support/processes.js';
import { waitFor } from '../../support/wait.js';
import { buildFirmware } from '../bench-host.js';

export interface Rig {
  readonly root: string;
  readonly build: string;
  readonly hub: HubHandle;
  /** Private and public key the hub and the gateway trust. */
  readonly key: { readonly private: string; readonly public: string };
  cli(args: string[]): Promise<CliResult>;
  /** `get mcus -o json`. */
  mcus(): Promise<McuView[]>;
  waitForMcu(what: string, accept: (mcu: McuView) => boolean, timeoutMs?: number): Promise<McuView>;
  startBench(label: string, options: Partial<BenchOptions> & Pick<BenchOptions, 'mcu' | 'image'>): Promise<Bench>;
  startGateway(ports: readonly string[], extraArgs?: string[], hubUrl?: string, env?: Record<string, string>): Promise<{ agent: ManagedProcess; deviceId: string }>;
  /** `firmware push` signed with the trusted key; returns the sha256. */
  push(image: string, target: string, version: string, key?: string): Promise<string>;
  cleanup(): Promise<void>;
}

/** Builds of hardware/ the tests need, as `make -C hardware <target> VERSION=<v>`. */
export type Build = readonly [target: 'stm32' | 'stm32-silent' | 'stm32-changed' | 'stc89c52' | 'stc89c52-silent' | 'modem-lines', version: string];

/** Call `cleanup()` when done (test.after.always): it kills every process and emulator it started. */
export async function startRig(label: string, builds: readonly Build[], hubArgs: string[] = []): Promise<Rig> {
  const tmp = await makeTempDir(`ep-hw-${label}-`);
  const root = tmp.path;
  const build = join(root, 'build');
  for (const [target, version] of builds) buildFirmware(build, version, target);
  const processes: ManagedProcess[] = [];
  const benches: Bench[] = [];

  // Keys first: the hub starts trusting the public key (--firmware-key).
  const keyPrefix = join(root, 'fw');
  const key = { private: `${keyPrefix}.key`, public: `${keyPrefix}.pub` };
  const cleanup = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.kill('SIGKILL')));
    await Promise.all(benches.map((b) => b.stop().catch(() => undefined)));
    await tmp.remove();
  };
  let hub: HubHandle;
  try {
    hub = await startHubProcess({ root, dataDir: join(root, 'hub'), extraArgs: hubArgs });
    processes.push(hub.proc);
    const keygen = await hub.cli(['firmware', 'keygen', '--out', keyPrefix]);
    if (keygen.code !== 0) throw new Error(`keygen failed: ${keygen.stderr}`);
    const trust = await hub.cli(['firmware', 'trust', key.public]);
    if (trust.code !== 0) throw new Error(`firmware trust failed: ${trust.stderr}`);
  } catch (err) {
    await cleanup();
    throw err;
  }

  const rig: Rig = {
    root,
    build,
    hub,
    key,
    cli: (args) => hub.cli(args),
    async mcus() {
      const result = await hub.cli(['get', 'mcus', '-o', 'json']);
      if (result.code !== 0) throw new Error(`get mcus failed: ${result.stderr}`);
      return listSchema(mcuViewSchema).parse(JSON.parse(result.stdout)).items;
    },
    async waitForMcu(what, accept, timeoutMs = 60_000) {
      return waitFor(what, async () => (await rig.mcus()).find(accept), timeoutMs, 300);
    },
    async startBench(benchLabel, options) {
      const workDirectory = join(root, `bench-${benchLabel}`);
      mkdirSync(workDirectory, { recursive: true });
      const bench = await startBench({
        hostPath: join(root, `tty-${benchLabel}`),
        flashFile: join(root, `flash-${benchLabel}.bin`),
        workDirectory,
        ...options,
      });
      benches.push(bench);
      return bench;
    },
    async startGateway(ports, extraArgs = [], hubUrl = hub.apiUrl, env = {}) {
      const token = await createJoinToken(hub);
      const agent = startAgentProcess({
        name: 'gateway',
        root,
        hubUrl,
        joinToken: token,
        stateDir: join(root, 'gateway'),
        hardwareId: `gateway-${label}`,
        env,
        extraArgs: [
          ...ports.flatMap((p) => ['--mcu-port', p]),
          '--trust-key', key.public,
          '--mcu-telemetry-interval', '200',
          '--mcu-silence', '2',
          '--mcu-boot-timeout', '5',
          ...extraArgs,
        ],
      });
      processes.push(agent);
      const deviceId = (await agent.waitForOutput(/running as (\S+)/))[1] ?? '';
      return { agent, deviceId };
    },
    async push(image, target, version, signingKey = key.private) {
      const result = await hub.cli(['firmware', 'push', image, '--target', target, '--version', version, '--key', signingKey, '-o', 'json']);
      if (result.code !== 0) throw new Error(`firmware push ${image} failed: ${result.stderr}`);
      return (JSON.parse(result.stdout) as { sha256: string }).sha256;
    },
    cleanup,
  };
  return rig;
}

/** Test-side paths of hardware/ builds. */
export function stm32Image(rig: Rig, version: string, variant: 'node' | 'node-silent' | 'node-changed' = 'node', ext: 'hex' | 'bin' = 'hex'): string {
  return join(rig.build, `stm32f103-${variant}-${version}.${ext}`);
}
