import type { Logger } from '../../common/log.js';
import { canonicalJson, payloadLimits, topics, type DeviceService, type DeviceServices } from '../../protocol/index.js';
import { eventSubjects } from '../store/records.js';
import type { HubStore } from '../store/repository.js';
import { leadershipLost } from '../leadership/leadership.js';
import { planEndpoints, type EndpointPlan } from './endpoints.js';
import { errorMessage } from '../../common/errors.js';

export interface ServicesControllerDeps {
  store: HubStore;
  publish(topic: string, payload: unknown, retain: boolean): Promise<void>;
  now: () => Date;
  log: Logger;
}

/**
 * Readiness reports come in bursts (a fleet restarting): one pass for a burst, and at most a
 * fifth of the time spent in passes (a pass reads every device's documents).
 */
const DEBOUNCE_MS = 100;
const MAX_PASS_SHARE = 0.2;

/**
 * Publishes each device's services document (retained on `ep/v1/d/<id>/services`) when what it
 * should hold changes: a Service applied or deleted, an instance becoming ready or not, a device
 * coming or going, a device starting to use a service. What was sent is kept in memory only: a
 * restarted hub sends every document once again (the embedded broker forgot them anyway), and
 * endpoints are recomputed from the durable store (services, desired and reported documents).
 */
export class ServicesController {
  private sent = new Map<string, string>();
  private version = 0;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private last: EndpointPlan | undefined;
  private lastPassMs = 0;
  private learned = false;
  /** Each service's endpoints at the last pass (`device/instance`), to tell when they change. */
  private lastEndpoints = new Map<string, Set<string>>();

  constructor(private readonly deps: ServicesControllerDeps) {}

  request(): void {
    if (this.timer) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.reconcile();
      },
      Math.max(DEBOUNCE_MS, this.lastPassMs / MAX_PASS_SHARE),
    );
  }

  /** Runs a pass now (or right after the current one); never rejects. */
  async reconcile(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.passWhileAsked();
    return this.running;
  }

  /** Passes while asked; the loop's last check and the reset of `running` are one step (a later ask is never lost, see DesiredStateController). */
  private async passWhileAsked(): Promise<void> {
    // The loop awaits a pass before it can end, so `running` is set by reconcile() first.
    try {
      do {
        this.again = false;
        const started = performance.now();
        await this.pass().catch((err: unknown) =>
          leadershipLost(err) ? this.deps.log.warn(`services pass stopped: ${errorMessage(err)}`) : this.deps.log.error(`services pass failed: ${errorMessage(err)}`),
        );
        this.lastPassMs = performance.now() - started;
      } while (this.again);
    } finally {
      this.running = undefined;
    }
  }

  /**
   * Sends every device's services document again, as if none had been sent: the broker lost its
   * retained messages (Redis restarted empty). A pass that fails halfway leaves the rest out of
   * `sent`, so the next pass (any change, or the next time the marker is found missing) sends them.
   */
  resendAll(): Promise<void> {
    this.sent.clear();
    return this.reconcile();
  }

  /** The last pass's plan, for the API (recomputed when none ran yet). */
  async plan(): Promise<EndpointPlan> {
    if (!this.last) await this.reconcile();
    return this.last ?? { byDevice: new Map(), status: new Map() };
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * A Normal event on the service when its endpoints change (what came, what went, how many are left).
   * The first pass after a start only learns them: a restarted hub does not report every endpoint as new.
   */
  private async recordEndpointChanges(plan: EndpointPlan): Promise<void> {
    const first = this.lastEndpoints;
    this.lastEndpoints = new Map([...plan.status].map(([name, s]) => [name, new Set(s.endpoints.map((e) => `${e.deviceId}/${e.instance}`))]));
    if (!this.learned) {
      this.learned = true;
      return;
    }
    for (const [name, now] of this.lastEndpoints) {
      const before = first.get(name) ?? new Set<string>();
      const added = [...now].filter((e) => !before.has(e)).sort();
      const removed = [...before].filter((e) => !now.has(e)).sort();
      if (added.length === 0 && removed.length === 0) continue;
      const why = (plan.status.get(name)?.notReady ?? []).filter((n) => removed.includes(`${n.deviceId}/${n.instance}`)).map((n) => `${n.deviceId}/${n.instance}: ${n.reason}`);
      const parts = [...(added.length ? [`added ${added.join(', ')}`] : []), ...(removed.length ? [`removed ${removed.join(', ')}${why.length ? ` (${why.join('; ')})` : ''}`] : [])];
      await this.deps.store.events.append(eventSubjects.service(name), { time: this.deps.now().toISOString(), type: removed.length > 0 && now.size === 0 ? 'Warning' : 'Normal', reason: 'EndpointsChanged', message: `${parts.join('; ')}: ${now.size} endpoint(s) now` });
    }
  }

  private async pass(): Promise<void> {
    const { store } = this.deps;
    const services = await store.services.list();
    if (services.length === 0 && this.sent.size === 0) {
      this.last = { byDevice: new Map(), status: new Map() };
      return;
    }
    const devices = await store.devices.snapshot();
    // A deleted device's retained topics were cleared: nothing more is sent there.
    const known = new Set(devices.map((d) => d.id));
    for (const id of [...this.sent.keys()]) if (!known.has(id)) this.sent.delete(id);
    const plan = planEndpoints({
      services,
      workloads: await store.workloads.list(),
      devices,
      desired: await store.deviceState.desiredSnapshot(),
      reported: await store.deviceState.reportedSnapshot(),
    });
    this.last = plan;
    await this.recordEndpointChanges(plan);
    // A device that stopped using every service is sent an empty list once (its proxy closes).
    const targets = new Set([...plan.byDevice.keys(), ...[...this.sent].filter(([, text]) => text !== '[]').map(([id]) => id)]);
    for (const deviceId of targets) {
      const list: DeviceService[] = plan.byDevice.get(deviceId) ?? [];
      const text = canonicalJson(list);
      if (this.sent.get(deviceId) === text) continue;
      const document: DeviceServices = { version: ++this.version, issuedAt: this.deps.now().toISOString(), services: list };
      const size = Buffer.byteLength(JSON.stringify(document));
      if (size > payloadLimits.services) {
        this.deps.log.error(`services document for ${deviceId} is ${size} bytes, over the ${payloadLimits.services} limit; not sent`);
        continue;
      }
      await this.deps.publish(topics.services(deviceId), document, true);
      this.sent.set(deviceId, text);
      this.deps.log.info(`device ${deviceId}: services ${list.map((s) => `${s.name}(${s.endpoints.length})`).join(', ') || '(none)'}`);
    }
  }
}
