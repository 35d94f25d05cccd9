import type { FastifyInstance } from 'fastify';
import type { DeviceFeed } from '../../fleet/device-feed.js';
import { deviceView } from '../../fleet/device-view.js';
import { keyFingerprint } from '../../fleet/join-proof-check.js';
import { eventSubjects, type PendingRejoin } from '../../store/records.js';
import type { DeviceRepository, EventRepository } from '../../store/repository.js';
import { HttpError, notFound } from '../http-error.js';

export interface DeviceApprovalDeps {
  devices: DeviceRepository;
  events: EventRepository;
  feed: DeviceFeed;
  now: () => Date;
}

const nothingPending = (id: string): HttpError =>
  new HttpError(409, 'NoPendingRejoin', `device ${id} has no held join to decide (see 'edgepilot describe device ${id}')`);

/**
 * A technician's answer to a held re-join (a known board with an unknown key, e.g. reflashed):
 * approve lets that key join as the device at its next attempt; deny forgets the request.
 */
export function registerDeviceApprovalRoutes(app: FastifyInstance, deps: DeviceApprovalDeps): void {
  const decide = async (id: string, approve: boolean) => {
    const existing = await deps.devices.get(id);
    if (!existing) throw notFound(`device ${id}`);
    let pending: PendingRejoin | undefined;
    const updated = await deps.devices.update(
      id,
      (d) => {
        pending = d.pendingRejoin;
        if (!pending) return;
        if (approve) d.pendingRejoin = { ...pending, approvedAt: deps.now().toISOString() };
        else delete d.pendingRejoin;
      },
      'sync',
    );
    if (!updated) throw notFound(`device ${id}`);
    if (!pending) throw nothingPending(id);
    const key = keyFingerprint(pending.publicKey);
    await deps.events.append(eventSubjects.device(id), {
      time: deps.now().toISOString(),
      type: 'Normal',
      reason: approve ? 'RejoinKeyApproved' : 'RejoinDenied',
      message: approve
        ? `key ${key} of ${pending.hostname} approved; that board joins as this device at its next attempt (the current credentials stop working then)`
        : `held join of ${pending.hostname} with key ${key} denied; the device keeps its key and credentials`,
    });
    deps.feed.changed(id, 'MODIFIED', 'registration');
    return deviceView(updated);
  };
  app.post('/v1/devices/:id/approve', async (request) => decide((request.params as { id: string }).id, true));
  app.post('/v1/devices/:id/deny', async (request) => decide((request.params as { id: string }).id, false));
}
