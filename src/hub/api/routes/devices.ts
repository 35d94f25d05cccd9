import { eventSubjects } from '../../store/records.js';
import type { FastifyInstance } from 'fastify';
import { labelPatchSchema, parseSelector, selectorMatches, validate, type LabelSelector } from '../../../protocol/index.js';
import type { DeviceFeed } from '../../fleet/device-feed.js';
import { deviceView } from '../../fleet/device-view.js';
import type { DeviceRepository, EventRepository } from '../../store/repository.js';
import { badRequest, notFound } from '../http-error.js';

export interface DeviceRouteDeps {
  devices: DeviceRepository;
  events: EventRepository;
  feed: DeviceFeed;
  now: () => Date;
}

function selectorFrom(query: unknown): LabelSelector | undefined {
  const text = (query as { selector?: unknown }).selector;
  if (text === undefined || text === '') return undefined;
  if (typeof text !== 'string') throw badRequest('selector must be a string');
  const parsed = parseSelector(text);
  if (!parsed.ok) throw badRequest(parsed.error);
  return parsed.selector;
}

export function registerDeviceRoutes(app: FastifyInstance, deps: DeviceRouteDeps): void {
  app.get('/v1/devices', async (request, reply) => {
    const selector = selectorFrom(request.query);
    const matches = (labels: Record<string, string>): boolean => !selector || selectorMatches(labels, selector);
    const watch = (request.query as { watch?: string }).watch === 'true';
    const devices = (await deps.devices.list()).filter((d) => matches(d.labels)).sort((a, b) => a.id.localeCompare(b.id));
    if (!watch) return { items: devices.map(deviceView) };

    // A watch streams newline-delimited JSON events: the current state as ADDED, then changes.
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    const send = (type: string, object: unknown): void => void out.write(`${JSON.stringify({ type, object })}\n`);
    for (const d of devices) send('ADDED', deviceView(d));
    const unsubscribe = deps.feed.subscribe((id, type) => {
      void deps.devices.get(id).then((device) => {
        if (!device) return send('DELETED', { id });
        if (matches(device.labels)) send(type, deviceView(device));
      });
    });
    // Keep idle connections from being cut by proxies, and notice a gone client.
    const heartbeat = setInterval(() => out.write('\n'), 15_000);
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
    });
  });

  app.get('/v1/devices/:id', async (request) => {
    const { id } = request.params as { id: string };
    const device = await deps.devices.get(id);
    if (!device) throw notFound(`device ${id}`);
    return { ...deviceView(device), events: await deps.events.list(eventSubjects.device(id)) };
  });

  app.patch('/v1/devices/:id/labels', async (request) => {
    const { id } = request.params as { id: string };
    const patch = validate(labelPatchSchema, request.body);
    if (!patch.ok) throw badRequest(patch.error);
    const updated = await deps.devices.update(
      id,
      (device) => {
        for (const key of patch.value.remove) delete device.labels[key];
        Object.assign(device.labels, patch.value.set);
      },
      'sync',
    );
    if (!updated) throw notFound(`device ${id}`);
    const changes = [
      ...Object.entries(patch.value.set).map(([k, v]) => `${k}=${v}`),
      ...patch.value.remove.map((k) => `${k}-`),
    ].join(' ');
    await deps.events.append(eventSubjects.device(id), { time: deps.now().toISOString(), type: 'Normal', reason: 'Labeled', message: `labels changed: ${changes}` });
    deps.feed.changed(id, 'MODIFIED', 'labels');
    return deviceView(updated);
  });
}
