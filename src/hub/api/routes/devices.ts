import { eventSubjects } from '../../store/records.js';
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import * as z from 'zod';
import { labelPatchSchema, parseSelector, selectorMatches, type DeviceView, type LabelSelector } from '../../../protocol/index.js';
import type { DeviceFeed } from '../../fleet/device-feed.js';
import { deviceView } from '../../fleet/device-view.js';
import type { DeviceRepository, EventRepository } from '../../store/repository.js';
import { badRequest, HttpError, notFound } from '../http-error.js';
import { checked, pathParam } from '../params.js';

export interface DeviceRouteDeps {
  devices: DeviceRepository;
  events: EventRepository;
  feed: DeviceFeed;
  now: () => Date;
  /**
   * After a device was deleted from the store: end its broker session (its credential is gone
   * with its record, so it cannot log in again), clear its retained topics, re-place its replicas.
   */
  deviceDeleted(id: string): Promise<void>;
}

/** How long a watch gathers device changes before it writes them (one write per batch). */
const WATCH_BATCH_MS = 50;

const listQuery = z.object({
  selector: z.string().max(4096).optional(),
  watch: z.enum(['true', 'false']).optional(),
});

function selectorFrom(text: string | undefined): LabelSelector | undefined {
  if (text === undefined || text === '') return undefined;
  const parsed = parseSelector(text);
  if (!parsed.ok) throw badRequest(`selector: ${parsed.error}`);
  return parsed.selector;
}

export function registerDeviceRoutes(app: FastifyInstance, deps: DeviceRouteDeps): void {
  // Open watches end when the hub stops; the server would otherwise wait for their clients.
  const watches = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const out of watches) out.end();
  });

  app.get('/v1/devices', async (request, reply) => {
    const query = checked(listQuery, request.query, 'query');
    const selector = selectorFrom(query.selector);
    const matches = (labels: Record<string, string>): boolean => !selector || selectorMatches(labels, selector);
    const watch = query.watch === 'true';
    const devices = (await deps.devices.list()).filter((d) => matches(d.labels)).sort((a, b) => a.id.localeCompare(b.id));
    if (!watch) return { items: devices.map(deviceView) };

    // A watch streams newline-delimited JSON events: the current state as ADDED, then changes.
    reply.hijack();
    const out = reply.raw;
    // One watch per connection: ending it (the hub stopping) closes the socket too.
    out.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache', connection: 'close' });
    // Like Kubernetes, DELETED carries the object's last state: the last view sent is kept, with
    // its text (a change that leaves the view as it was, a report or a lastSeen, is not sent).
    const sent = new Map<string, { view: DeviceView; text: string }>();
    const line = (type: 'ADDED' | 'MODIFIED' | 'DELETED', view: DeviceView): string | undefined => {
      const text = JSON.stringify(view);
      if (type === 'DELETED') sent.delete(view.id);
      else if (type === 'MODIFIED' && sent.get(view.id)?.text === text) return undefined;
      else sent.set(view.id, { view, text });
      return `{"type":${JSON.stringify(type)},"object":${text}}\n`;
    };
    out.write(devices.flatMap((d) => line('ADDED', deviceView(d)) ?? []).join(''));
    // Changes are gathered for a moment and written together: in a reconnect storm every device
    // changes several times within a second, and a write per change (a loopback send each) was
    // 2.8 s of the restarted hub's ~30 s of CPU in the reconnect bench at 3,000 devices.
    let pending = new Map<string, 'ADDED' | 'MODIFIED' | 'DELETED'>();
    let flushing = false;
    const flush = async (): Promise<void> => {
      const batch = pending;
      pending = new Map();
      const lines: string[] = [];
      for (const [id, type] of batch) {
        // Not copied: the view is written out at once (a copy with facts per change was most of a storm's watch).
        const device = await deps.devices.view(id);
        const last = sent.get(id);
        const text = !device ? last && line('DELETED', last.view) : matches(device.labels) ? line(type === 'DELETED' ? 'MODIFIED' : type, deviceView(device)) : undefined;
        if (text !== undefined) lines.push(text);
      }
      if (lines.length > 0 && !out.writableEnded && !out.destroyed) out.write(lines.join(''));
    };
    const schedule = (): void => {
      if (flushing) return;
      flushing = true;
      setTimeout(() => {
        void flush().finally(() => {
          flushing = false;
          // Changes that came in while this batch was read go out with the next one.
          if (pending.size > 0) schedule();
        });
      }, WATCH_BATCH_MS);
    };
    const unsubscribe = deps.feed.subscribe((id, type) => {
      if (!pending.has(id) || type === 'ADDED') pending.set(id, type);
      schedule();
    });
    // Keep idle connections from being cut by proxies, and notice a gone client.
    const heartbeat = setInterval(() => out.write('\n'), 15_000);
    watches.add(out);
    request.raw.on('close', () => {
      watches.delete(out);
      clearInterval(heartbeat);
      unsubscribe();
    });
  });

  app.get('/v1/devices/:id', async (request) => {
    const id = pathParam(request.params, 'id');
    const device = await deps.devices.get(id);
    if (!device) throw notFound(`device ${id}`);
    return { ...deviceView(device), events: await deps.events.list(eventSubjects.device(id)) };
  });

  app.patch('/v1/devices/:id/labels', async (request) => {
    const id = pathParam(request.params, 'id');
    const patch = checked(labelPatchSchema, request.body, 'body');
    const updated = await deps.devices.update(
      id,
      (device) => {
        // Like kubectl: removing a label the device does not have is an error, and nothing changes.
        const missing = patch.remove.find((key) => !Object.hasOwn(device.labels, key));
        if (missing !== undefined) throw new HttpError(404, 'NotFound', `label "${missing}" not found on device ${id}`);
        for (const key of patch.remove) delete device.labels[key];
        for (const [key, value] of Object.entries(patch.set)) device.labels[key] = value;
      },
      'sync',
    );
    if (!updated) throw notFound(`device ${id}`);
    const changes = [
      ...Object.entries(patch.set).map(([k, v]) => `${k}=${v}`),
      ...patch.remove.map((k) => `${k}-`),
    ].join(' ');
    await deps.events.append(eventSubjects.device(id), { time: deps.now().toISOString(), type: 'Normal', reason: 'Labeled', message: `labels changed: ${changes}` });
    deps.feed.changed(id, 'MODIFIED', 'labels');
    return deviceView(updated);
  });

  app.delete('/v1/devices/:id', async (request) => {
    const id = pathParam(request.params, 'id');
    const deleted = await deps.devices.delete(id);
    if (!deleted) throw notFound(`device ${id}`);
    const time = deps.now().toISOString();
    for (const { workload, ordinal } of deleted.freed) {
      await deps.events.append(eventSubjects.workload(workload), { time, type: 'Normal', reason: 'DeviceDeleted', message: `replica ${ordinal} was on device ${id}, which was deleted; it will be placed again` });
    }
    deps.feed.changed(id, 'DELETED', 'registration');
    await deps.deviceDeleted(id);
    return { kind: 'Device', name: id, action: 'deleted' };
  });
}
