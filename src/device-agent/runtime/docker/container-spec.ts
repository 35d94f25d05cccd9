import type Dockerode from 'dockerode';
import type { ContainerTemplate, DesiredInstance, Resources } from '../../../protocol/index.js';
import type { Logger } from '../../../common/log.js';
import type { SerialPassthrough } from './serial-devices.js';
import {
  containerName,
  LABEL_DEVICE,
  LABEL_INSTANCE,
  LABEL_MANAGED,
  LABEL_REVISION,
  LABEL_WORKLOAD,
  volumeName,
} from './naming.js';

export type ContainerInstance = DesiredInstance & { template: ContainerTemplate };

export function isContainerInstance(instance: DesiredInstance): instance is ContainerInstance {
  return instance.template.runtime === 'container';
}

/** Only a bridge-like network (bridge or a user network) has its own address and can publish ports. */
export function hasOwnNetwork(networkMode: string): boolean {
  return networkMode !== 'host' && networkMode !== 'none' && !networkMode.startsWith('container:');
}

/**
 * Docker's json-file driver keeps logs forever by default; on an SD card that ends in a full disk.
 * Two files of 2 MB each per container bound it while keeping `docker logs` and tail working.
 */
const LOG_CONFIG = { Type: 'json-file', Config: { 'max-size': '2m', 'max-file': '2' } } as const;

export function instanceLabels(instance: DesiredInstance, deviceId: string): Record<string, string> {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_DEVICE]: deviceId,
    [LABEL_INSTANCE]: instance.id,
    [LABEL_WORKLOAD]: instance.workload,
    [LABEL_REVISION]: instance.revision,
  };
}

/** Names of the named volumes (not host paths) the instance mounts. */
export function namedVolumes(instance: ContainerInstance): string[] {
  return instance.template.volumes.filter((v) => v.hostPath === undefined).map((v) => volumeName(instance.workload, v.name));
}

function portOptions(template: ContainerTemplate, networkMode: string, log: Logger): Pick<Dockerode.ContainerCreateOptions, 'ExposedPorts'> & { PortBindings?: Record<string, Array<{ HostPort: string }>> } {
  const published = template.ports.filter((p) => p.hostPort !== undefined);
  if (published.length === 0) return {};
  if (!hasOwnNetwork(networkMode)) {
    const list = published.map((p) => `${p.hostPort}→${p.containerPort}/${p.protocol}`).join(', ');
    log.info(`ports ${list} cannot be published on ${networkMode} networking; the container listens on the host's ports directly`);
    return {};
  }
  const exposed: Record<string, object> = {};
  const bindings: Record<string, Array<{ HostPort: string }>> = {};
  for (const port of published) {
    const key = `${port.containerPort}/${port.protocol.toLowerCase()}`;
    exposed[key] = {};
    bindings[key] = [{ HostPort: String(port.hostPort) }];
  }
  return { ExposedPorts: exposed, PortBindings: bindings };
}

/**
 * A hosts entry per service the container uses, naming the agent's proxy (issue 14): on host
 * networking the proxy's own address; on a network of its own the host as Docker's bridge reaches
 * it (`host-gateway`; the proxy must then listen there, `--service-address`).
 */
export function serviceHosts(template: ContainerTemplate, networkMode: string, serviceAddress = '127.0.0.1'): string[] {
  const target = hasOwnNetwork(networkMode) ? 'host-gateway' : serviceAddress;
  return (template.services ?? []).map((name) => `${name}:${target}`);
}

/** cgroup v1's bounds on cpu.shares, which Docker passes through. */
const MIN_CPU_SHARES = 2;
const MAX_CPU_SHARES = 262_144;

/**
 * Canonical resources (millicores, bytes) → Docker's HostConfig: a CPU limit as a CFS quota in
 * billionths of a CPU, a CPU request as a weight (1024 for one CPU, Kubernetes' mapping),
 * memory limit and swap equal (no swap on top), a memory request as a soft reservation.
 * Docker refuses a CPU limit above the CPUs its engine has ("Range of CPUs is from 0.01 to N");
 * such a limit cannot bind anyway, so it becomes the engine's CPU count, as in Kubernetes,
 * where a quota above the node's CPUs simply never throttles.
 */
export function resourceOptions(resources: Resources, engineCpus?: number): Pick<Dockerode.HostConfig, 'Memory' | 'MemorySwap' | 'MemoryReservation' | 'NanoCpus' | 'CpuShares'> {
  const { limits, requests } = resources;
  const cpuLimit = limits.cpuMillis !== undefined && engineCpus !== undefined && engineCpus > 0 ? Math.min(limits.cpuMillis, engineCpus * 1000) : limits.cpuMillis;
  return {
    ...(limits.memoryBytes !== undefined ? { Memory: limits.memoryBytes, MemorySwap: limits.memoryBytes } : {}),
    ...(requests.memoryBytes !== undefined ? { MemoryReservation: requests.memoryBytes } : {}),
    ...(cpuLimit !== undefined ? { NanoCpus: cpuLimit * 1_000_000 } : {}),
    ...(requests.cpuMillis !== undefined
      ? { CpuShares: Math.min(MAX_CPU_SHARES, Math.max(MIN_CPU_SHARES, Math.round((requests.cpuMillis * 1024) / 1000))) }
      : {}),
  };
}

export function buildCreateOptions(
  instance: ContainerInstance,
  serial: SerialPassthrough,
  context: {
    deviceId: string;
    networkMode: string;
    log: Logger;
    /** The engine's CPU count (`docker info` NCPU), when known. */
    engineCpus?: number;
    /** Where the agent's service proxy listens (issue 14). */
    serviceAddress?: string;
  },
): Dockerode.ContainerCreateOptions {
  const { template } = instance;
  const binds = template.volumes.map((v) => {
    const source = v.hostPath ?? volumeName(instance.workload, v.name);
    return `${source}:${v.mountPath}${v.readOnly ? ':ro' : ''}`;
  });
  const { PortBindings, ...exposed } = portOptions(template, context.networkMode, context.log);
  const extraHosts = serviceHosts(template, context.networkMode, context.serviceAddress);
  return {
    name: containerName(instance.id, instance.revision, context.deviceId),
    Image: template.image,
    // Kubernetes semantics: `command` replaces the image's entrypoint, `args` its CMD.
    ...(template.command !== undefined ? { Entrypoint: template.command } : {}),
    ...(template.args.length > 0 ? { Cmd: template.args } : {}),
    Env: Object.entries(template.env).map(([name, value]) => `${name}=${value}`),
    Labels: instanceLabels(instance, context.deviceId),
    // Makes `docker stop` from a shell honour the grace period too.
    StopTimeout: template.terminationGracePeriodSeconds,
    ...exposed,
    HostConfig: {
      // A shell as PID 1 ignores SIGTERM; docker-init forwards it and reaps zombies.
      Init: true,
      // Restarting is the agent's job (backoff, counting, reporting in one place).
      RestartPolicy: { Name: 'no' },
      NetworkMode: context.networkMode,
      ...(PortBindings !== undefined ? { PortBindings } : {}),
      ...resourceOptions(template.resources, context.engineCpus),
      Binds: [...binds, ...serial.binds],
      Devices: serial.devices,
      DeviceCgroupRules: serial.cgroupRules,
      LogConfig: LOG_CONFIG,
      ...(extraHosts.length > 0 ? { ExtraHosts: extraHosts } : {}),
    },
  };
}
