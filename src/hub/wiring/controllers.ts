// The controllers (desired-state/placement passes with the jobs planner's side, services,
// rollouts, the autoscaler, evictions inside the passes) run only on the hub that leads
// (issue 15). A fresh set is built each time this hub becomes leader (caches of an older term
// may be stale: another hub led meanwhile) and stopped at once when it stops leading. Every hub
// serves the API: what the API asks of the controllers goes to the running set, or, on a hub
// that does not lead, becomes a notice to the leader (hubs/change-notices.ts).
import type { Logger } from '../../common/log.js';
import type { Leadership } from '../leadership/leadership.js';
import type { EndpointPlan } from '../services/endpoints.js';
import { errorStack } from '../../common/errors.js';
import { RetainedWatch, type RetainedMarker } from '../broker/retained-marker.js';

/** The parts of the running controllers the hub and its API use (a fake in unit tests). */
export interface ControllerSet {
  desired: {
    request(): void;
    passAfterWrite(): Promise<void>;
    reconcile(): Promise<void>;
    republishAll(): Promise<void>;
    readonly unplacedReasons: ReadonlyMap<string, string>;
    readonly wantsReports: boolean;
    stop(): void;
  };
  services: { request(): void; reconcile(): Promise<void>; resendAll(): Promise<void>; plan(): Promise<EndpointPlan>; stop(): void };
  rollouts: { start(): Promise<void>; request(): void; stop(): void; requestIfAsked?(): void };
  autoscaler: { start(): void; stop(): void };
}

export interface LeaderControllersOptions<S extends ControllerSet = ControllerSet> {
  leadership: Leadership;
  /**
   * Builds a new set (not started). `live` says whether the set is still this hub's running one
   * in a term it holds: false once it was stopped, and as soon as the lease ran out (before the
   * renewal that notices it), so a paused old leader that wakes up sends nothing more.
   */
  build: (live: () => boolean) => S;
  /** Tells the leader of a write made here while this hub does not lead (absent: one hub). */
  notifyLeader?: () => void;
  /**
   * A pass at least this often on the leader: a notice lost while Redis blinked is picked up.
   * Absent with one hub (nothing happens elsewhere).
   */
  safetyPassMs?: number;
  /** What the API's services view computes on a hub that does not lead (nothing is published). */
  planWithoutLeading: () => Promise<EndpointPlan>;
  /**
   * Whether a new leader publishes every stored desired document again: with an external broker,
   * which may have lost them, and among several hubs, where the previous leader may have died
   * between storing a document and publishing it. A lone hub's embedded broker is seeded with them
   * at its start; republishing 10,000 documents then only competes with a reconnect storm.
   */
  republishOnLead: boolean;
  /**
   * Several hubs (--redis): the marker that tells whether Redis lost the retained messages
   * (broker/retained-marker.ts), checked by the leader this often; written at each start of
   * leading, before the stored documents are published.
   */
  retained?: { marker: RetainedMarker; checkMs: number };
  log: Logger;
}

const NO_REASONS: ReadonlyMap<string, string> = new Map();

export class LeaderControllers<S extends ControllerSet = ControllerSet> {
  private current: S | undefined;
  /** Serialises starts and stops: a flip during a slow start stops what that start built. */
  private transition: Promise<void> = Promise.resolve();
  private safetyTimer: NodeJS.Timeout | undefined;
  private stopListening: (() => void) | undefined;
  private closed = false;
  private readonly retainedWatch: RetainedWatch | undefined;
  private retainedTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LeaderControllersOptions<S>) {
    const retained = options.retained;
    if (retained) this.retainedWatch = new RetainedWatch({ marker: retained.marker, republish: () => this.republishRetained(), log: options.log });
  }

  /** Starts the controllers if this hub leads, and follows every change of leadership from now on. */
  async start(): Promise<void> {
    this.stopListening = this.options.leadership.onChange((leading) => this.follow(leading));
    this.follow(this.options.leadership.leading);
    await this.transition;
  }

  /** Resolves when the starts and stops asked for so far are done. */
  settled(): Promise<void> {
    return this.transition;
  }

  /** The running set; undefined while this hub does not lead. */
  get active(): S | undefined {
    return this.current;
  }

  private follow(leading: boolean): void {
    if (!leading) this.end('this hub no longer leads');
    this.transition = this.transition.then(() => (leading && this.options.leadership.leading && !this.closed ? this.begin() : undefined));
  }

  private async begin(): Promise<void> {
    if (this.current) return;
    const built: { set?: S } = {};
    const live = (): boolean => built.set !== undefined && this.current === built.set && this.options.leadership.leading;
    const set = this.options.build(live);
    built.set = set;
    this.current = set;
    this.options.log.info(`this hub leads (term ${String(this.options.leadership.term)}): controllers start`);
    try {
      if (this.options.republishOnLead) {
        // Before publishing: Redis emptied after this is noticed by the marker's absence. Not
        // written (Redis unreachable): the next check finds it missing and publishes again.
        await this.options.retained?.marker.mark().catch((err: unknown) => this.options.log.warn(`writing the retained marker: ${String(err)}`));
        await set.desired.republishAll();
        if (this.current !== set) return;
      }
      await set.desired.reconcile();
      if (this.current !== set) return;
      await set.services.reconcile();
      if (this.current !== set) return;
      await set.rollouts.start();
      if (this.current !== set) return;
      set.autoscaler.start();
      if (this.options.safetyPassMs !== undefined) {
        this.safetyTimer = setInterval(() => {
          this.current?.desired.request();
          this.current?.rollouts.requestIfAsked?.();
        }, this.options.safetyPassMs);
        this.safetyTimer.unref();
      }
      if (this.options.retained) {
        this.retainedTimer = setInterval(() => void this.checkRetained(), this.options.retained.checkMs);
        this.retainedTimer.unref();
      }
    } catch (err) {
      this.options.log.error(`starting the controllers failed: ${errorStack(err)}`);
    }
  }

  /** At once, not after the current transition: a hub that lost the lease must not write one more document. */
  private end(why: string): void {
    const set = this.current;
    if (!set) return;
    this.current = undefined;
    clearInterval(this.safetyTimer);
    this.safetyTimer = undefined;
    clearInterval(this.retainedTimer);
    this.retainedTimer = undefined;
    set.autoscaler.stop();
    set.rollouts.stop();
    set.services.stop();
    set.desired.stop();
    this.options.log.warn(`controllers stopped: ${why}`);
  }

  /**
   * Whether Redis still holds the retained messages, and if not, publishes the stored ones again
   * (the leader only; also called when Redis is back after a lost connection). Never rejects.
   */
  checkRetained(): Promise<void> {
    return this.current && this.retainedWatch ? this.retainedWatch.check() : Promise.resolve();
  }

  /** Every stored retained document (desired, services) published again by the running set; false when none runs. */
  private async republishRetained(): Promise<boolean> {
    const set = this.current;
    if (!set) return false;
    await set.desired.republishAll();
    await set.services.resendAll();
    return this.current === set;
  }

  /** The broker session came back, perhaps to an external broker that lost its retained messages. */
  brokerReconnected(): void {
    if (this.options.republishOnLead) this.current?.desired.republishAll().catch((err: unknown) => this.options.log.warn(`republishing desired documents: ${String(err)}`));
  }

  /** A pass soon (a report or a change here); on a hub that does not lead the notices carry it. */
  request(): void {
    this.current?.desired.request();
  }

  /** After an API write: the leader's next pass sees it. Here, if this hub leads; else a notice. */
  passAfterWrite(): Promise<void> {
    if (this.current) return this.current.desired.passAfterWrite();
    this.options.notifyLeader?.();
    return Promise.resolve();
  }

  reconcile(): Promise<void> {
    if (this.current) return this.current.desired.reconcile();
    this.options.notifyLeader?.();
    return Promise.resolve();
  }

  /** Another hub took an API write: everything it may concern runs again. */
  writtenElsewhere(): void {
    this.current?.desired.request();
    this.current?.services.request();
    this.current?.rollouts.request();
  }

  servicesRequest(): void {
    if (this.current) this.current.services.request();
    else this.options.notifyLeader?.();
  }

  servicesPlan(): Promise<EndpointPlan> {
    return this.current ? this.current.services.plan() : this.options.planWithoutLeading();
  }

  rolloutsRequest(): void {
    this.current?.rollouts.request();
  }

  get unplacedReasons(): ReadonlyMap<string, string> {
    return this.current?.desired.unplacedReasons ?? NO_REASONS;
  }

  get wantsReports(): boolean {
    return this.current?.desired.wantsReports ?? false;
  }

  stop(): void {
    this.closed = true;
    this.stopListening?.();
    this.end('the hub stops');
  }
}
