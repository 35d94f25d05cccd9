import {
  selectorMatches,
  type DesiredState,
  type DeviceService,
  type ReportedState,
  type ServiceEndpoint,
  type ServiceRecord,
  type Template,
} from '../../protocol/index.js';
import type { DeviceRecord, WorkloadRecord } from '../store/records.js';

/**
 * Endpoints of Services (issue 14), as one pure function of what the hub stores: the published
 * desired documents say which instance runs where (and with which ports), the reported ones
 * whether it is ready at that revision, the devices' facts where they are reachable. The result
 * is each device's services document (only the services its own instances use: need to know)
 * and a view per service for `get`/`describe`.
 */

export interface EndpointInputs {
  services: readonly ServiceRecord[];
  workloads: readonly WorkloadRecord[];
  devices: readonly Readonly<DeviceRecord>[];
  desired: ReadonlyMap<string, Readonly<DesiredState>>;
  reported: ReadonlyMap<string, Readonly<ReportedState>>;
}

/** An endpoint as the hub knows it, before it is put in a device's view (locality). */
export interface FleetEndpoint {
  deviceId: string;
  instance: string;
  host: string;
  ports: { targetPort: number; port: number }[];
}

export interface ServiceStatus {
  endpoints: FleetEndpoint[];
  /** Selected instances that are not endpoints, and why. */
  notReady: { deviceId: string; instance: string; reason: string }[];
  /** Devices whose instances use the service (they are sent it). */
  usedBy: string[];
}

export interface EndpointPlan {
  /** Device id → the services document's list, for every device that uses at least one service. */
  byDevice: Map<string, DeviceService[]>;
  status: Map<string, ServiceStatus>;
}

const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** The port on the device for a targetPort: the published hostPort, or the port itself (host networking, processes). */
function publishedPort(template: Template, targetPort: number): number | undefined {
  const declared = template.ports.find((p) => p.containerPort === targetPort && p.protocol === 'TCP');
  return declared === undefined ? undefined : (declared.hostPort ?? declared.containerPort);
}

function endpointsOf(service: ServiceRecord, inputs: EndpointInputs, devices: ReadonlyMap<string, Readonly<DeviceRecord>>): Pick<ServiceStatus, 'endpoints' | 'notReady'> {
  const selected = new Set(inputs.workloads.filter((w) => selectorMatches(w.labels, service.spec.selector)).map((w) => w.name));
  const endpoints: FleetEndpoint[] = [];
  const notReady: ServiceStatus['notReady'] = [];
  for (const [deviceId, desired] of inputs.desired) {
    for (const instance of desired.instances) {
      if (!selected.has(instance.workload)) continue;
      const refuse = (reason: string): void => void notReady.push({ deviceId, instance: instance.id, reason });
      const device = devices.get(deviceId);
      if (device?.status?.state !== 'online') {
        refuse('device is not online');
        continue;
      }
      const seen = inputs.reported.get(deviceId)?.instances.find((r) => r.id === instance.id);
      if (!seen || seen.revision !== instance.revision) {
        refuse('not reported at its current revision yet');
        continue;
      }
      if (!seen.ready || seen.phase !== 'running') {
        refuse(`not ready (${seen.phase})`);
        continue;
      }
      const host = device.facts?.address;
      if (host === undefined) {
        refuse('its device reports no address (agent --advertise-address)');
        continue;
      }
      const ports: FleetEndpoint['ports'] = [];
      const missing: number[] = [];
      for (const { targetPort } of service.spec.ports) {
        const port = publishedPort(instance.template, targetPort);
        if (port === undefined) missing.push(targetPort);
        else ports.push({ targetPort, port });
      }
      if (missing.length > 0) {
        refuse(`its template declares no TCP port ${missing.join(', ')}`);
        continue;
      }
      endpoints.push({ deviceId, instance: instance.id, host, ports });
    }
  }
  endpoints.sort((a, b) => byText(a.deviceId, b.deviceId) || byText(a.instance, b.instance));
  notReady.sort((a, b) => byText(a.deviceId, b.deviceId) || byText(a.instance, b.instance));
  return { endpoints, notReady };
}

/** The endpoints a device may use under the service's scope, with their locality as seen from it. */
export function endpointsFor(service: ServiceRecord, consumer: Readonly<DeviceRecord> | undefined, consumerId: string, endpoints: readonly FleetEndpoint[], devices: ReadonlyMap<string, Readonly<DeviceRecord>>): ServiceEndpoint[] {
  const siteOf = (id: string): string | undefined => (id === consumerId ? consumer : devices.get(id))?.labels[service.spec.siteLabel];
  const mySite = siteOf(consumerId);
  const out: ServiceEndpoint[] = [];
  for (const e of endpoints) {
    const sameDevice = e.deviceId === consumerId;
    const sameSite = !sameDevice && mySite !== undefined && siteOf(e.deviceId) === mySite;
    if (service.spec.scope === 'device' && !sameDevice) continue;
    if (service.spec.scope === 'site' && !sameDevice && !sameSite) continue;
    out.push({ ...e, ports: e.ports.map((p) => ({ ...p })), locality: sameDevice ? 'device' : sameSite ? 'site' : 'other' });
  }
  return out;
}

/** Names of the services a device's placed instances, Jobs and CronJobs declare (`template.services`). */
export function servicesUsedBy(desired: Readonly<DesiredState>): Set<string> {
  const used = new Set<string>();
  const templates = [...desired.instances.map((i) => i.template), ...(desired.jobs ?? []).map((j) => j.spec.template), ...(desired.cronJobs ?? []).map((c) => c.spec.jobTemplate.template)];
  for (const template of templates) for (const name of template.services ?? []) used.add(name);
  return used;
}

export function planEndpoints(inputs: EndpointInputs): EndpointPlan {
  const devices = new Map(inputs.devices.map((d) => [d.id, d]));
  const services = new Map(inputs.services.map((s) => [s.name, s]));
  const status = new Map<string, ServiceStatus>();
  for (const service of inputs.services) status.set(service.name, { ...endpointsOf(service, inputs, devices), usedBy: [] });
  const byDevice = new Map<string, DeviceService[]>();
  for (const [deviceId, desired] of inputs.desired) {
    const list: DeviceService[] = [];
    for (const name of [...servicesUsedBy(desired)].sort(byText)) {
      const service = services.get(name);
      const known = status.get(name);
      if (!service || !known) continue; // used but not (yet) applied: nothing to send
      known.usedBy.push(deviceId);
      list.push({ name, ports: service.spec.ports.map((p) => ({ ...p })), endpoints: endpointsFor(service, devices.get(deviceId), deviceId, known.endpoints, devices) });
    }
    if (list.length > 0) byDevice.set(deviceId, list);
  }
  for (const s of status.values()) s.usedBy.sort(byText);
  return { byDevice, status };
}
