import { eventSubjects } from '../store/records.js';
import { hashSecret, randomAlnum, randomSecret } from '../../common/ids.js';
import type { Logger } from '../../common/log.js';
import type { JoinRequest, JoinResponse } from '../../protocol/index.js';
import type { DeviceRecord } from '../store/records.js';
import type { DeviceRepository, EventRepository } from '../store/repository.js';
import type { DeviceFeed } from './device-feed.js';
import { derivedLabels } from './derived-labels.js';
import type { JoinTokens } from './tokens.js';

/** Lowercase, dash-separated, short: device ids appear in topics, tables and shell commands. */
export function deviceIdBase(hostname: string): string {
  const slug = hostname
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return slug === '' ? 'device' : slug;
}

export interface RegistrationDeps {
  tokens: JoinTokens;
  devices: DeviceRepository;
  events: EventRepository;
  feed: DeviceFeed;
  now: () => Date;
  log: Logger;
}

/**
 * Turns a join request into a device identity. The response is sent only after the device is
 * durably stored, so a device never holds credentials that a crashed hub has forgotten.
 */
export async function registerDevice(request: JoinRequest, deps: RegistrationDeps): Promise<JoinResponse> {
  const consumed = await deps.tokens.consume(request.token);
  if (!consumed.ok) {
    deps.log.warn(`join refused for ${request.hostname} (${request.hardwareId}): ${consumed.message}`);
    return { ok: false, reason: consumed.reason, message: consumed.message };
  }
  const now = deps.now().toISOString();
  const password = randomSecret(32);
  const existing = await deps.devices.findByHardwareId(request.hardwareId);
  let device: DeviceRecord;
  if (existing) {
    // The same board again (reflashed SD card, wiped state folder): same id, fresh credentials.
    device = { ...existing, hostname: request.hostname, credentialHash: hashSecret(password), facts: request.facts };
    device.labels = { ...device.labels, ...derivedLabels(request.facts) };
  } else {
    device = {
      id: await freeDeviceId(request.hostname, deps.devices),
      hardwareId: request.hardwareId,
      hostname: request.hostname,
      labels: { ...consumed.record.labels, ...derivedLabels(request.facts) },
      taints: [],
      unschedulable: false,
      credentialHash: hashSecret(password),
      registeredAt: now,
      joinedWithToken: consumed.record.id,
      facts: request.facts,
    };
  }
  await deps.devices.put(device, 'sync');
  await deps.events.append(eventSubjects.device(device.id), {
    time: now,
    type: 'Normal',
    reason: existing ? 'Reregistered' : 'Registered',
    message: `${existing ? 'registered again' : 'registered'} with join token ${consumed.record.id} (agent ${request.agentVersion})`,
  });
  deps.feed.changed(device.id, existing ? 'MODIFIED' : 'ADDED', 'registration');
  deps.log.info(`device ${device.id} ${existing ? 're-registered' : 'registered'} (${request.hostname}, ${request.facts.arch})`);
  return { ok: true, deviceId: device.id, password, labels: device.labels, reregistered: existing !== undefined };
}

async function freeDeviceId(hostname: string, devices: DeviceRepository): Promise<string> {
  const base = deviceIdBase(hostname);
  for (;;) {
    const id = `${base}-${randomAlnum(5)}`;
    if (!(await devices.get(id))) return id;
  }
}
