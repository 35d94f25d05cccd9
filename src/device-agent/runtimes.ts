import type { Logger } from '../common/log.js';
import type { InstanceRuntime } from './runtime/runtime.js';
import { createProcessRuntime } from './runtime/process-runtime.js';
import { lazyRuntime } from './runtime/lazy-runtime.js';
import { anyOwnedContainer } from './runtime/docker/any-owned.js';

export interface RuntimeChoice {
  stateDir: string;
  deviceId: string;
  dockerAvailable: boolean;
  dockerSocket: string;
  containerNetwork: string;
  /** Where the service proxy listens: containers get a hosts entry per service they use. */
  serviceAddress?: string;
  registryConfigured: boolean;
  log: Logger;
  /** Variables that came from a Secret, per instance (kept off the process runtime's records on disk). */
  privateEnv?(instanceId: string): ReadonlySet<string>;
}

/**
 * The runtimes this device has. dockerode (+24 MB RSS as node_modules, ~3 MB bundled) and the
 * Docker runtime are imported only when a Docker engine answered the facts probe, and then only
 * when the device has a container of its own or starts one (lazy-runtime.ts).
 */
export async function createRuntimes(choice: RuntimeChoice): Promise<{ container?: InstanceRuntime; process: InstanceRuntime }> {
  const processRuntime = createProcessRuntime({
    stateDir: choice.stateDir,
    deviceId: choice.deviceId,
    log: choice.log.child('process'),
    ...(choice.privateEnv ? { privateEnv: choice.privateEnv } : {}),
  });
  if (!choice.dockerAvailable) return { process: processRuntime };
  const container = lazyRuntime({
    kind: 'container',
    hasOwned: () => anyOwnedContainer(choice.dockerSocket, choice.deviceId),
    load: async () => {
      const [{ default: Dockerode }, { createDockerRuntime }] = await Promise.all([import('dockerode'), import('./runtime/docker-runtime.js')]);
      choice.log.debug('Docker runtime loaded');
      return createDockerRuntime({
        docker: new Dockerode({ socketPath: choice.dockerSocket }),
        deviceId: choice.deviceId,
        networkMode: choice.containerNetwork,
        ...(choice.serviceAddress !== undefined ? { serviceAddress: choice.serviceAddress } : {}),
        registryConfigured: choice.registryConfigured,
        log: choice.log.child('docker'),
      });
    },
  });
  return { container, process: processRuntime };
}
