// Builds the controllers the leader runs (wiring/controllers.ts starts and stops them), moved
// out of main.ts as they were: desired-state passes with services and the jobs planner's side,
// rollouts (with their MCU flashes), and the autoscaler.
import { randomUUID } from 'node:crypto';
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
import type { RolloutRequestRecord } from '../store/rollout-requests.js';
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

/** How long a hub that does not lead waits for the leader to take a queued rollout request before it answers. */
const TAKEN_WAIT_MS = 5000;
const TAKEN_POLL_MS = 100;

/**
 * The rollout controller the API talks to. While this hub leads: the current term's own, looked up
 * at each call (a new term builds a new controller set). Otherwise `writer`, never started: it
 * checks the request with the same typed RolloutRequestError a leader would, and where several
 * hubs share the store (`store.rolloutRequests`) queues it for the leader, and `written` tells
 * the leader. With one store per hub (no queue) the writer stores it itself.
 *
 * Why a queue of requests, not forwarding to the leader's API, nor an unfenced write of the
 * rollout: the rollout's state is the leader's controller's alone (every write fenced by its
 * term), so a deposed leader can never write it, and a person's request is a record of its own,
 * durable before they are answered, that whichever hub leads next takes (a leader dying right
 * after loses nothing). Forwarding would need each hub to trust the others' TLS certificates and
 * tokens, and would fail while no hub leads; an unfenced write of a rollout the controller is
 * stepping at the same moment would lose one of the two transitions.
 */
export class RolloutsForApi implements RolloutRequests {
  constructor(
    private readonly controllers: { readonly active: { readonly rolloutController: RolloutRequests } | undefined },
    private readonly writer: RolloutController,
    private readonly written: () => void,
    private readonly shared: { store?: Pick<HubStore, 'rollouts' | 'rolloutRequests'>; now?: () => Date; takenWaitMs?: number } = {},
  ) {
    writer.stop();
  }

  create(name: string, spec: RolloutSpec): Promise<'created' | 'unchanged'> {
    const leader = this.leader();
    if (leader) return leader.create(name, spec);
    if (this.shared.store?.rolloutRequests === undefined) return this.writer.create(name, spec).finally(this.written);
    return this.queueCreate(name, spec);
  }

  command(name: string, command: RolloutCommand): Promise<RolloutState> {
    const leader = this.leader();
    if (leader) return leader.command(name, command);
    if (this.shared.store?.rolloutRequests === undefined) return this.writer.command(name, command).finally(this.written);
    return this.queueCommand(name, command);
  }

  /** A follower's writer is stopped: it runs no pass (the leader hears of the write by `written`). */
  request(): void {
    (this.leader() ?? this.writer).request();
  }

  private leader(): RolloutRequests | undefined {
    return this.controllers.active?.rolloutController;
  }

  private async queueCreate(name: string, spec: RolloutSpec): Promise<'created' | 'unchanged'> {
    if ((await this.writer.prepareCreate(name, spec)) === 'unchanged') return 'unchanged';
    await this.ask(name, { type: 'create', spec });
    return 'created';
  }

  /** Answers with the rollout as the leader left it, or, when it has not taken the command yet, with the transition it will make. */
  private async queueCommand(name: string, command: RolloutCommand): Promise<RolloutState> {
    const { next } = await this.writer.prepareCommand(name, command);
    if (!(await this.ask(name, { type: 'command', command }))) return next;
    return (await this.shared.store?.rollouts.get(name)) ?? next;
  }

  /** Stores the request (durable), tells the leader, and waits a little for it to be taken; resolves to whether it was. */
  private async ask(rollout: string, request: RolloutRequestRecord['request']): Promise<boolean> {
    const queue = this.shared.store?.rolloutRequests;
    if (queue === undefined) return false;
    const at = (this.shared.now ?? (() => new Date()))();
    const id = `${String(at.getTime()).padStart(13, '0')}-${randomUUID()}`;
    await queue.add({ id, rollout, at: at.toISOString(), request });
    this.written();
    for (let waited = 0; waited < (this.shared.takenWaitMs ?? TAKEN_WAIT_MS); waited += TAKEN_POLL_MS) {
      await new Promise((resolve) => setTimeout(resolve, TAKEN_POLL_MS));
      if (!(await queue.has(id))) return true;
    }
    return false;
  }
}
