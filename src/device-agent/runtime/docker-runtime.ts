import type Dockerode from 'dockerode';
import type { Logger } from '../../common/log.js';
import { errorMessage } from '../../common/errors.js';
import type { DesiredInstance } from '../../protocol/index.js';
import type { InstanceRuntime, ObservedInstance } from './runtime.js';
import { buildCreateOptions, hasOwnNetwork, isContainerInstance, namedVolumes, type ContainerInstance } from './docker/container-spec.js';
import { watchDieEvents } from './docker/die-events.js';
import {
  containerName,
  dockerStatusCode,
  LABEL_DEVICE,
  LABEL_INSTANCE,
  LABEL_MANAGED,
  LABEL_VOLUME,
  LABEL_WORKLOAD,
  ownedLabelFilter,
} from './docker/naming.js';
import { observedFromInspect } from './docker/observe.js';
import { resolveSerialDevices } from './docker/serial-devices.js';
import { containerLogLines, execInContainer, pullImage } from './docker/streams.js';
import { usageFromStats } from './docker/usage.js';

export interface DockerRuntimeOptions {
  /** Constructed by the composition root: this module only imports dockerode's types (+24 MB RSS otherwise). */
  docker: Dockerode;
  deviceId: string;
  /** `host` on most boards; a bridge-like network gives containers their own address and port publishing. */
  networkMode: string;
  /** Where the service proxy listens (issue 14): a hosts entry per service a container uses. */
  serviceAddress?: string;
  registryConfigured: boolean;
  log: Logger;
}

/** Runs instances as Docker containers, found again after an agent restart by their labels. */
export function createDockerRuntime(options: DockerRuntimeOptions): InstanceRuntime {
  const { docker, deviceId, networkMode, registryConfigured, log, serviceAddress } = options;
  const exitListeners = new Set<(id: string) => void>();
  /** Last cpu_stats per container, for the CPU delta of one-shot stats. */
  const previousCpu = new Map<string, unknown>();
  let dieEvents: { close(): void } | undefined;
  /** The engine's CPU count, asked once: CPU limits above it are lowered to it (see resourceOptions). */
  let engineCpus: Promise<number | undefined> | undefined;

  const containerInstance = (instance: DesiredInstance): ContainerInstance => {
    if (!isContainerInstance(instance)) {
      throw new Error(`instance ${instance.id} has a ${instance.template.runtime} template; the Docker runtime runs containers`);
    }
    return instance;
  };

  const inspect = async (nameOrId: string): Promise<Dockerode.ContainerInspectInfo | undefined> => {
    try {
      return await docker.getContainer(nameOrId).inspect();
    } catch (err) {
      if (dockerStatusCode(err) === 404) return undefined;
      throw err;
    }
  };

  /** The container of an instance id whatever its revision: the running one, else the newest. */
  const findContainer = async (id: string): Promise<Dockerode.ContainerInfo> => {
    const found = await docker.listContainers({ all: true, filters: { label: [...ownedLabelFilter(deviceId), `${LABEL_INSTANCE}=${id}`] } });
    const chosen = found.find((c) => c.State === 'running') ?? found.sort((a, b) => b.Created - a.Created)[0];
    if (chosen === undefined) throw new Error(`instance ${id} has no container on this device`);
    return chosen;
  };

  /** Named volumes are keyed by workload and labelled, so they outlive instances and can be found for cleanup. */
  const ensureVolume = async (name: string, instance: ContainerInstance): Promise<void> => {
    try {
      await docker.getVolume(name).inspect();
      return;
    } catch (err) {
      if (dockerStatusCode(err) !== 404) throw new Error(`inspecting volume ${name} failed: ${errorMessage(err)}`);
    }
    await docker.createVolume({
      Name: name,
      Labels: { [LABEL_MANAGED]: 'true', [LABEL_DEVICE]: deviceId, [LABEL_WORKLOAD]: instance.workload, [LABEL_VOLUME]: name },
    });
    log.info(`created volume ${name}`);
  };

  return {
    kind: 'container',

    async list() {
      const containers = await docker.listContainers({ all: true, filters: { label: ownedLabelFilter(deviceId) } });
      const observed: ObservedInstance[] = [];
      for (const summary of containers) {
        // Removed between the listing and now: simply not there any more.
        const info = await inspect(summary.Id);
        const instance = info === undefined ? undefined : observedFromInspect(info);
        if (instance !== undefined) observed.push(instance);
        else if (info !== undefined) log.warn(`container ${summary.Id.slice(0, 12)} has edgepilot's label but not its instance labels; ignored`);
      }
      return observed;
    },

    async prepare(instance, signal, onProgress) {
      const { image } = containerInstance(instance).template;
      try {
        await docker.getImage(image).inspect();
        return;
      } catch (err) {
        if (dockerStatusCode(err) !== 404) throw new Error(`inspecting image ${image} failed: ${errorMessage(err)}`);
      }
      if (!registryConfigured) throw new Error(`image ${image} is not on this device and no registry is configured`);
      log.info(`pulling ${image}`);
      await pullImage(docker, image, signal, onProgress);
      log.info(`pulled ${image}`);
    },

    async start(desired, signal) {
      const instance = containerInstance(desired);
      const name = containerName(instance.id, instance.revision, deviceId);
      for (const volume of namedVolumes(instance)) await ensureVolume(volume, instance);
      const serial = await resolveSerialDevices(instance.template.serialDevices);
      if (serial.placements.length > 0) log.info(`${name}: serial devices ${serial.placements.join(', ')}`);
      // One `docker info` (a slow call) shared by starts running at once, not one each.
      engineCpus ??= docker.info().then((info: { NCPU?: number }) => info.NCPU, () => undefined);
      const cpus = await engineCpus;
      const cpuLimit = instance.template.resources.limits.cpuMillis;
      if (cpuLimit !== undefined && cpus !== undefined && cpuLimit > cpus * 1000) {
        log.info(`${name}: CPU limit ${cpuLimit}m is more than the ${cpus} CPUs of this device; limiting to ${cpus}`);
      }
      const createOptions = buildCreateOptions(instance, serial, { deviceId, networkMode, log, ...(cpus !== undefined ? { engineCpus: cpus } : {}), ...(serviceAddress !== undefined ? { serviceAddress } : {}) });
      let container: Dockerode.Container;
      try {
        container = await docker.createContainer({ ...createOptions, abortSignal: signal });
      } catch (err) {
        if (dockerStatusCode(err) === 409) throw new Error(`instance ${instance.id} revision ${instance.revision} already exists (container ${name})`);
        throw new Error(`creating container ${name} failed: ${errorMessage(err)}`);
      }
      try {
        await container.start({ abortSignal: signal });
      } catch (err) {
        // A container that failed to start (missing executable, bad device) would block the
        // retry with a name conflict; the error carries what Docker said.
        await container.remove({ force: true, v: true }).catch(() => undefined);
        throw new Error(`starting container ${name} failed: ${errorMessage(err)}`);
      }
      const info = await inspect(container.id);
      const observed = info === undefined ? undefined : observedFromInspect(info);
      if (observed === undefined) throw new Error(`container ${name} vanished right after it started`);
      return observed;
    },

    async stop(id, revision, graceSeconds, signal) {
      const name = containerName(id, revision, deviceId);
      try {
        // Docker sends SIGTERM (docker-init forwards it), waits t seconds, then SIGKILLs.
        await docker.getContainer(name).stop({ t: graceSeconds, abortSignal: signal });
      } catch (err) {
        const code = dockerStatusCode(err);
        if (code === 304 || code === 404) return; // already stopped, or gone
        throw new Error(`stopping container ${name} failed: ${errorMessage(err)}`);
      }
    },

    async signal(id, revision, signalName) {
      const name = containerName(id, revision, deviceId);
      try {
        await docker.getContainer(name).kill({ signal: signalName });
      } catch (err) {
        throw new Error(`signalling container ${name} failed: ${errorMessage(err)}`);
      }
    },

    async remove(id, revision) {
      const name = containerName(id, revision, deviceId);
      try {
        // v: anonymous volumes (an image's VOLUME) go with the container; named ones never do.
        await docker.getContainer(name).remove({ v: true });
      } catch (err) {
        const code = dockerStatusCode(err);
        if (code === 404) return;
        if (code === 409) throw new Error(`container ${name} is still running; stop it before removing it`);
        throw new Error(`removing container ${name} failed: ${errorMessage(err)}`);
      }
    },

    async *logs(id, logOptions) {
      const summary = await findContainer(id);
      yield* containerLogLines(docker.getContainer(summary.Id), logOptions);
    },

    async exec(id, command, timeoutMs) {
      const summary = await findContainer(id);
      if (summary.State !== 'running') throw new Error(`instance ${id} is not running; cannot exec in it`);
      return execInContainer(docker.getContainer(summary.Id), command, timeoutMs);
    },

    async probeHost(id) {
      if (networkMode === 'host') return '127.0.0.1';
      if (!hasOwnNetwork(networkMode)) throw new Error(`instance ${id} runs with network mode ${networkMode}: no address to probe; use an exec probe`);
      const summary = await findContainer(id);
      const info = await inspect(summary.Id);
      // Newer engines report addresses only per network; the top-level IPAddress is deprecated.
      const address = Object.values(info?.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
      if (!address) throw new Error(`instance ${id} has no IP address on network ${networkMode}`);
      return address;
    },

    async usage(id) {
      let summary: Dockerode.ContainerInfo;
      try {
        summary = await findContainer(id);
      } catch {
        return undefined;
      }
      if (summary.State !== 'running') return undefined;
      // One-shot: the daemon answers at once instead of waiting a second for a second sample;
      // the previous sample kept here makes the CPU delta (the first is the average since start).
      const stats = (await docker.getContainer(summary.Id).stats({ stream: false, 'one-shot': true })) as unknown as Record<string, unknown>;
      const previous = previousCpu.get(summary.Id);
      previousCpu.set(summary.Id, stats['cpu_stats']);
      return usageFromStats(previous === undefined ? stats : { ...stats, precpu_stats: previous });
    },

    onExit(listener) {
      exitListeners.add(listener);
      dieEvents ??= watchDieEvents(docker, deviceId, log, (event) => {
        log.debug(`container of ${event.instanceId} died (exit code ${event.exitCode ?? 'unknown'})`);
        for (const notify of exitListeners) {
          try {
            notify(event.instanceId);
          } catch (err) {
            log.error(`exit listener failed: ${errorMessage(err)}`);
          }
        }
      });
      return () => {
        exitListeners.delete(listener);
        if (exitListeners.size === 0) {
          dieEvents?.close();
          dieEvents = undefined;
        }
      };
    },

    async close() {
      exitListeners.clear();
      dieEvents?.close();
      dieEvents = undefined;
    },
  };
}
