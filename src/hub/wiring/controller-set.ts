// Builds the controllers the leader runs (wiring/controllers.ts starts and stops them), moved
// out of main.ts as they were: desired-state passes with services and the jobs planner's side,
// rollouts (with their MCU flashes), and the autoscaler.
import { flashResultSchema, type RolloutCommand, type RolloutSpec, type RolloutState } from '../../protocol/index.js';
import type { Logger } from '../../common/log.js';
import type { JobsPlanner } from '../jobs/jobs-planner.js';
import type { ConfigObjects } from '../config-objects/config-objects.js';
import type { FirmwareStore } from '../firmware/firmware-store.js';
import type { TelemetryFeed } from '../mcus/telemetry-feed.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';
import type { DeviceRpc } from '../rpc/device-rpc.js';
import type { UsageStore } from '../fleet/usage-store.js';
import { controllerView, type HubStore } from '../store/repository.js';
import { RolloutController, type RolloutRequests } from '../rollouts/rollout-controller.js';
import { ServicesController } from '../services/services-controller.js';
import { Autoscaler } from '../workloads/autoscaler.js';
import { DesiredStateController } from '../workloads/desired-controller.js';
import type { PassTimings } from '../workloads/pass-timings.js';
import type { ControllerSet } from './controllers.js';
import { NotLeadingError } from '../leadership/leadership.js';

export interface ControllerSetDeps {
  store: HubStore;
  /** Each durable rollout transition (the dashboard hears of every one). */
  onRolloutTransition: () => void;
  publish(topic: string, payload: unknown, retain: boolean): Promise<void>;
  now: () => Date;
  jobs: JobsPlanner;
  configs: ConfigObjects;
  rpc: DeviceRpc;
  metrics: HubMetrics;
  telemetry: TelemetryFeed;
  firmware: FirmwareStore;
  usage: UsageStore;
  autoscaleIntervalMs: number;
  /** Where every pass's timing goes (kept by the hub across terms, for /v1/stats). */
  timings: PassTimings;
  log: Logger;
}

/**
 * A set's publish: refused once the set is not live (see LeaderControllers' `build`). A deposed
 * leader's late desired document would otherwise replace the new leader's newer one as the
 * retained message, and a device that reconnects later would get the older one.
 */
export function publishWhileLive(publish: ControllerSetDeps['publish'], live: () => boolean): ControllerSetDeps['publish'] {
  return (topic, payload, retain) => {
    if (!live()) return Promise.reject(new NotLeadingError(`not published to ${topic}: this hub no longer leads (the new leader sends what is stored)`));
    return publish(topic, payload, retain);
  };
}

export function buildControllerSet(given: ControllerSetDeps, live: () => boolean = () => true): ControllerSet & { rolloutController: RolloutController } {
  // Every write of this set is made under the lease term it leads in (fenced on a shared store),
  // and every publish while it leads.
  const store = controllerView(given.store);
  const deps: ControllerSetDeps = { ...given, store, publish: publishWhileLive(given.publish, live) };
  const { publish, now, log } = deps;
  const services = new ServicesController({ store, publish, now, log: log.child('services') });
  const desired = new DesiredStateController({
    store,
    publish,
    now,
    log: log.child('desired'),
    jobs: { any: () => deps.jobs.any(), plan: (devices) => deps.jobs.plan(devices, store) },
    beforePublish: () => services.reconcile(),
    configs: deps.configs.withEvents(store.events),
  });
  desired.timings.onRecord((timing) => deps.timings.record(timing));
  const rollouts = rolloutController(deps, { replan: (deviceIds) => desired.reconcileDevices(deviceIds) });
  const autoscaler = new Autoscaler({
    store,
    usage: deps.usage,
    now: Date.now,
    intervalMs: deps.autoscaleIntervalMs,
    replicasChanged: () => desired.request(),
    log: log.child('autoscaler'),
  });
  return { desired, services, rollouts, autoscaler, rolloutController: rollouts };
}

/** The rollout controller; also built (never started) on hubs that do not lead, to take API writes. */
export function rolloutController(deps: ControllerSetDeps, options: { replan: (deviceIds: Iterable<string>) => Promise<void> }): RolloutController {
  const { metrics, rpc, firmware, telemetry } = deps;
  return new RolloutController({
    store: deps.store,
    onTransition: deps.onRolloutTransition,
    now: deps.now,
    log: deps.log.child('rollout'),
    // Pins change what runs on the pinned devices, never where: only their documents are redone.
    replan: options.replan,
    // A release's firmware goes through the same gateway flash RPC as `edgepilot flash`.
    flash: async (gateway, mcu, sha256, flashOptions) => {
      const final = await rpc.call(gateway, 'flash', { mcu, sha256, force: flashOptions?.force ?? false }, { timeoutMs: 15_000 }).catch((err: unknown) => {
        metrics.flashEnded('failed', 'rollout');
        throw err;
      });
      const ok = flashResultSchema.safeParse(final).success;
      metrics.flashEnded(ok ? 'succeeded' : 'failed', 'rollout');
      if (!ok) throw new Error(`${gateway} ended the flash without a result`);
    },
    telemetry: (gateway, mcuId) => telemetry.recent(gateway, mcuId, 64),
    firmwareImages: {
      find: (model, version) => firmware.findVersion(model, version)?.manifest.sha256 ?? null,
      has: (sha256) => firmware.get(sha256) !== undefined,
    },
  });
}

/**
 * The rollout controller the API talks to. While this hub leads: the current term's own, looked up
 * at each call (a new term builds a new controller set). Otherwise `writer`, never started: it
 * stores the rollout or the command, or refuses with the same typed RolloutRequestError a leader
 * would, and `written` then tells the leader. Only the named methods are forwarded.
 */
export class RolloutsForApi implements RolloutRequests {
  constructor(
    private readonly controllers: { readonly active: { readonly rolloutController: RolloutRequests } | undefined },
    private readonly writer: RolloutController,
    private readonly written: () => void,
  ) {
    writer.stop();
  }

  create(name: string, spec: RolloutSpec): Promise<'created' | 'unchanged'> {
    const leader = this.leader();
    return leader ? leader.create(name, spec) : this.writer.create(name, spec).finally(this.written);
  }

  command(name: string, command: RolloutCommand): Promise<RolloutState> {
    const leader = this.leader();
    return leader ? leader.command(name, command) : this.writer.command(name, command).finally(this.written);
  }

  /** A follower's writer is stopped: it runs no pass (the leader hears of the write by `written`). */
  request(): void {
    (this.leader() ?? this.writer).request();
  }

  private leader(): RolloutRequests | undefined {
    return this.controllers.active?.rolloutController;
  }
}
