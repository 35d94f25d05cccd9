import { MCU_TELEMETRY_SERVICE, serviceEnvPrefix, type DesiredInstance, type DeviceServices } from '../../protocol/index.js';

export interface ServiceEnvContext {
  /** Where the proxy listens (processes and host-network containers reach it there). */
  proxyHost: string;
  /** Containers with a network of their own reach the proxy through a hosts entry, by name. */
  containerHasOwnNetwork: boolean;
  /** The gateway's MCU telemetry port, when it serves one. */
  mcuTelemetryPort?: number;
}

/**
 * The instance with `<NAME>_SERVICE_HOST`, `<NAME>_SERVICE_PORT` (and `<NAME>_SERVICE_PORT_<PORT>`
 * for named ports) for every service its template uses, from the services document kept here.
 * Set when the instance starts: endpoints may change later (the proxy follows them); the port
 * of a service known only after the start is missing from its env (`missing` names them).
 */
export function withServiceEnv(instance: DesiredInstance, services: DeviceServices | undefined, context: ServiceEnvContext): { instance: DesiredInstance; missing: string[] } {
  const used = instance.template.services ?? [];
  if (used.length === 0) return { instance, missing: [] };
  const template = structuredClone(instance.template);
  const missing: string[] = [];
  const byContainerName = template.runtime === 'container' && context.containerHasOwnNetwork;
  for (const name of used) {
    const prefix = serviceEnvPrefix(name);
    template.env[`${prefix}_HOST`] = byContainerName ? name : context.proxyHost;
    if (name === MCU_TELEMETRY_SERVICE && context.mcuTelemetryPort !== undefined) {
      template.env[`${prefix}_PORT`] = String(context.mcuTelemetryPort);
      continue;
    }
    const service = services?.services.find((s) => s.name === name);
    if (!service) {
      missing.push(name);
      continue;
    }
    const [first] = service.ports;
    if (first) template.env[`${prefix}_PORT`] = String(first.port);
    for (const p of service.ports) if (p.name) template.env[`${prefix}_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
  }
  return { instance: { ...instance, template }, missing };
}
