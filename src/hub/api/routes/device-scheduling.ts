import type { FastifyInstance } from 'fastify';
import type { DeviceFeed } from '../../fleet/device-feed.js';
import { deviceView } from '../../fleet/device-view.js';
import { eventSubjects, type DeviceRecord } from '../../store/records.js';
import type { DeviceRepository, EventRepository } from '../../store/repository.js';
import { notFound } from '../http-error.js';
import { pathParam } from '../params.js';

export interface DeviceSchedulingDeps {
  devices: DeviceRepository;
  events: EventRepository;
  feed: DeviceFeed;
  now: () => Date;
  /**
   * Asks for a placement pass after a durable change (drain moves replicas in it); resolves once
   * a pass that started after the call has run. The answer does not wait for it.
   */
  passAfterWrite(): Promise<void>;
}

/** cordon, uncordon and drain: whether new replicas may land on a device, and moving them off. */
export function registerDeviceSchedulingRoutes(app: FastifyInstance, deps: DeviceSchedulingDeps): void {
  const change = async (id: string, apply: (d: DeviceRecord) => void, reason: string, message: string) => {
    const updated = await deps.devices.update(id, apply, 'sync');
    if (!updated) throw notFound(`device ${id}`);
    await deps.events.append(eventSubjects.device(id), { time: deps.now().toISOString(), type: 'Normal', reason, message });
    deps.feed.changed(id, 'MODIFIED', 'labels');
    void deps.passAfterWrite();
    return deviceView(updated);
  };
  app.post('/v1/devices/:id/cordon', async (request) => {
    const id = pathParam(request.params, 'id');
    return change(id, (d) => void (d.unschedulable = true), 'Cordoned', 'no new replicas will be placed here');
  });
  app.post('/v1/devices/:id/uncordon', async (request) => {
    const id = pathParam(request.params, 'id');
    return change(id, (d) => ((d.unschedulable = false), (d.draining = false)), 'Uncordoned', 'replicas may be placed here again');
  });
  app.post('/v1/devices/:id/drain', async (request) => {
    const id = pathParam(request.params, 'id');
    return change(id, (d) => ((d.unschedulable = true), (d.draining = true)), 'Draining', 'cordoned; replicas: N instances move away within maxUnavailable');
  });
}
