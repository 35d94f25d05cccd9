import { eventSubjects, type DeviceRecord } from '../store/records.js';
import type { Logger } from '../../common/log.js';
import type { DeviceEvent, DeviceStatus, Facts, ReportedState } from '../../protocol/index.js';
import type { DeviceRepository, DeviceStateRepository, EventRepository } from '../store/repository.js';
import type { DeviceFeed } from './device-feed.js';
import { derivedLabels } from './derived-labels.js';

const refusedLogIntervalMs = 60_000;

export interface DeviceObserverDeps {
  devices: DeviceRepository;
  events: EventRepository;
  deviceState: DeviceStateRepository;
  feed: DeviceFeed;
  now: () => Date;
  log: Logger;
}

/** Keeps the hub's view of each device (status, facts, events) in step with what devices report. */
export class DeviceObserver {
  private readonly refusedEvents = new Map<string, { loggedAt: number; suppressed: number }>();

  constructor(private readonly deps: DeviceObserverDeps) {}

  async onStatus(deviceId: string, status: DeviceStatus): Promise<void> {
    const { devices, now } = this.deps;
    let transition: 'online' | 'offline' | undefined;
    // Status is observed state: no copy of the record (facts included) for each of a storm's
    // connections, no compare of its control part.
    const updated = await devices.observe(deviceId, (device) => {
      const previous = device.status;
      // A will from an older connection can arrive after the device already reconnected.
      if (status.state === 'offline' && previous?.state === 'online' && previous.sessionId !== status.sessionId) return;
      if (previous?.state !== status.state) transition = status.state;
      // A will's payload was written when the connection opened; the loss happened now.
      device.status = status.reason === 'connection-lost' ? { ...status, since: now().toISOString() } : status;
      if (status.state === 'online') device.lastSeen = now().toISOString();
    });
    if (!updated) return this.unknown(deviceId, 'status');
    if (transition) {
      const reason = transition === 'online' ? 'DeviceOnline' : 'DeviceOffline';
      const why = status.reason === 'connection-lost' ? 'connection lost (last will)' : status.reason === 'shutdown' ? 'agent shut down' : 'connected';
      await this.record(deviceId, { type: transition === 'online' ? 'Normal' : 'Warning', reason, message: `${transition}: ${why}, agent ${status.agentVersion}` });
      this.deps.log.info(`device ${deviceId} is ${transition} (${why})`);
    }
    // Placement sees online/offline and, while offline, since when: an "online" of a device the
    // hub already had online (every reconnection after a hub restart) changes nothing for it.
    this.deps.feed.changed(deviceId, 'MODIFIED', 'status', transition !== undefined || status.state === 'offline');
  }

  async onFacts(deviceId: string, facts: Facts): Promise<void> {
    // Agents send their facts again after every reconnection (10,000 at once after a hub
    // restart). When they change nothing, only lastSeen is noted: no copy of the record, no
    // compare of its control part, no write but the lazy observed one.
    const current = await this.deps.devices.view(deviceId);
    if (current === undefined) return this.unknown(deviceId, 'facts');
    if (this.changesNothing(current, facts)) {
      await this.deps.devices.touch(deviceId, this.deps.now().toISOString());
      this.deps.feed.changed(deviceId, 'MODIFIED', 'facts', false);
      return;
    }
    let same = false;
    const updated = await this.deps.devices.update(
      deviceId,
      (device) => {
        // Agents send facts again after every reconnect; the same facts schedule nothing new.
        same = device.facts !== undefined && this.factsText(device.facts) === JSON.stringify(facts);
        // The stored object is kept when equal: what is derived from it by identity (the placement
        // pass's compiled devices) stays valid, so a storm of reconnections recompiles nobody.
        if (!same) device.facts = facts;
        device.hostname = facts.hostname;
        device.labels = { ...device.labels, ...derivedLabels(facts) };
        device.lastSeen = this.deps.now().toISOString();
      },
      'lazy',
    );
    if (!updated) return this.unknown(deviceId, 'facts');
    this.deps.feed.changed(deviceId, 'MODIFIED', 'facts', !same);
  }

  /** Stored facts are replaced whole, never edited: their text is kept by the object's identity. */
  private readonly factsTexts = new WeakMap<object, string>();

  private factsText(stored: Facts): string {
    let text = this.factsTexts.get(stored);
    if (text === undefined) this.factsTexts.set(stored, (text = JSON.stringify(stored)));
    return text;
  }

  /** Whether facts would leave the record as it is: the same facts, hostname and derived labels. */
  private changesNothing(current: Readonly<DeviceRecord>, facts: Facts): boolean {
    if (current.facts === undefined || current.hostname !== facts.hostname) return false;
    for (const [key, value] of Object.entries(derivedLabels(facts))) if (current.labels[key] !== value) return false;
    return this.factsText(current.facts) === JSON.stringify(facts);
  }

  async onEvent(deviceId: string, event: DeviceEvent): Promise<void> {
    if (!(await this.deps.devices.has(deviceId))) return this.unknown(deviceId, 'events');
    await this.deps.events.append(eventSubjects.device(deviceId), event);
    // Events about a workload's instance also belong to the workload's history, but a device
    // speaks only for its own instances: one naming a workload the hub did not send it would
    // otherwise show up in that workload's `describe`. (It stays in the device's own history,
    // where a late "stopping: no longer desired" after a move also belongs.)
    if (event.object?.kind === 'Workload') {
      if (await this.runsInstanceOf(deviceId, event.object.name)) {
        await this.deps.events.append(eventSubjects.workload(event.object.name), { ...event, message: `${deviceId}: ${event.message}` });
      } else this.refused(deviceId, event.object.name);
    }
    await this.touch(deviceId);
  }

  /** Whether the desired document the hub last sent this device holds an instance of `workload`. */
  private async runsInstanceOf(deviceId: string, workload: string): Promise<boolean> {
    const desired = await this.deps.deviceState.desired(deviceId);
    return desired?.instances.some((i) => i.workload === workload) === true;
  }

  /** One log line per device per minute, so a misbehaving device cannot flood the hub's log. */
  private refused(deviceId: string, workload: string): void {
    const now = this.deps.now().getTime();
    const entry = this.refusedEvents.get(deviceId);
    if (entry && now - entry.loggedAt < refusedLogIntervalMs) {
      entry.suppressed += 1;
      return;
    }
    const more = entry && entry.suppressed > 0 ? ` (${entry.suppressed} more since the last line)` : '';
    this.deps.log.warn(`kept event from ${deviceId} out of workload ${workload}'s history: the device was sent no instance of it${more}`);
    this.refusedEvents.set(deviceId, { loggedAt: now, suppressed: 0 });
  }

  async onReported(deviceId: string, reported: ReportedState): Promise<void> {
    // The hot path of an apply (one report per device): no copy of the record, no compare.
    if (!(await this.deps.devices.has(deviceId))) return this.unknown(deviceId, 'reported');
    await this.deps.deviceState.putReported(deviceId, reported);
    await this.touch(deviceId);
    this.deps.feed.changed(deviceId, 'MODIFIED', 'reported');
  }

  /** Any message proves the device is alive. */
  async touch(deviceId: string): Promise<void> {
    await this.deps.devices.touch(deviceId, this.deps.now().toISOString());
  }

  private async record(deviceId: string, event: Omit<DeviceEvent, 'time'>): Promise<void> {
    await this.deps.events.append(eventSubjects.device(deviceId), { time: this.deps.now().toISOString(), ...event });
  }

  private unknown(deviceId: string, channel: string): void {
    // With an external broker a stale retained message of a deleted device may still arrive.
    this.deps.log.warn(`ignored ${channel} from unknown device ${deviceId}`);
  }
}
