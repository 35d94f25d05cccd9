import type { Logger } from '../common/log.js';
import type { InstanceRuntime } from './runtime/runtime.js';
import { createProcessRuntime } from './runtime/process-runtime.js';

export interface RuntimeChoice {
  stateDir: string;
  deviceId: string;
  dockerAvailable: boolean;
  dockerSocket: string;
  containerNetwork: string;
  registryConfigured: boolean;
  log: Logger;
  /** Variables that came from a Secret, per instance (kept off the process runtime's records on disk). */
  privateEnv?(instanceId: string): ReadonlySet<string>;
}

/**
 * The runtimes this device has. dockerode (+24 MB RSS) and the Docker runtime are imported only
 * when a Docker engine answered the facts probe.
 */
export async function createRuntimes(choice: RuntimeChoice): Promise<{ container?: InstanceRuntime; process: InstanceRuntime }> {
  const processRuntime = createProcessRuntime({
    stateDir: choice.stateDir,
    deviceId: choice.deviceId,
    log: choice.log.child('process'),
    ...(choice.privateEnv ? { privateEnv: choice.privateEnv } : {}),
  });
  if (!choice.dockerAvailable) return { process: processRuntime };
  const [{ default: Dockerode }, { createDockerRuntime }] = await Promise.all([import('dockerode'), import('./runtime/docker-runtime.js')]);
  const docker = new Dockerode({ socketPath: choice.dockerSocket });
  const container = createDockerRuntime({
    docker,
    deviceId: choice.deviceId,
    networkMode: choice.containerNetwork,
    registryConfigured: choice.registryConfigured,
    log: choice.log.child('docker'),
  });
  return { container, process: processRuntime };
}
