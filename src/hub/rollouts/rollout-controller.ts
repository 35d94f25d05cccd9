// The rollout controller: a thin I/O shell around the pure `step` (src/scheduler/rollout). For
// each live rollout it builds the observations from the store, calls step, writes the new state
// durably (one transition per write), performs the transition's actions (idempotent), and clears
// the outbox; then again, until step has nothing to do. It runs on device reports, on a timer set
// to the step's nextCheckAt, and on operator commands — all through one queue, so two passes never
// interleave. A hub that restarts first re-does the outbox of every stored rollout (crash between
// write and actions), then carries on from the stored state.
import type { Logger } from '../../common/log.js';
import type { McuTelemetry, RolloutCommand, RolloutSpec, RolloutState } from '../../protocol/index.js';
import { canonicalJson, formatReleaseRef } from '../../protocol/index.js';
import {
  benchDevices,
  createRollout,
  inTarget,
  ownershipConflicts,
  ownershipRefusal,
  recordFlashFailure,
  shareDeviceIndex,
  step,
  type FirmwareImageLookup,
  type StepInput,
} from '../../scheduler/rollout/index.js';
import { eventSubjects } from '../store/records.js';
import type { HubStore } from '../store/repository.js';
import { performActions, type FirmwareFlasher } from './rollout-actions.js';
import { deviceInfo, type FleetSnapshot } from './observations.js';
import { ObservationCache } from './observation-cache.js';
import { StepInputs } from './step-inputs.js';
import { takeRolloutRequests } from './taken-requests.js';
import { RolloutRequestError } from './rollout-errors.js';
import { errorMessage, errorStack } from '../../common/errors.js';

export interface RolloutControllerDeps {
  store: HubStore;
  now: () => Date;
  log: Logger;
  /** Recompute and publish the desired documents of these devices after their pins changed. */
  replan(deviceIds: readonly string[]): Promise<void>;
  flash?: FirmwareFlasher;
  /** The firmware store's images (to record what MCUs ran before, and restore it on rollback). */
  firmwareImages?: FirmwareImageLookup;
  /** Recent telemetry frames of one MCU behind a gateway (for the HIL gate's telemetry check). */
  telemetry?(gateway: string, mcu: string): readonly McuTelemetry[];
  /**
   * Called once for every new revision of a rollout once it is durable (its creation, each
   * transition, a recorded flash failure), so pages that show rollouts re-read them. Not called
   * for a write that fails, nor for clearing the outbox (no new revision).
   */
  onTransition?(rollout: Readonly<RolloutState>): void;
}

export { RolloutRequestError };

/** What the API asks of the rollout controller: store a rollout, run a command, and a pass soon. */
export type RolloutRequests = Pick<RolloutController, 'create' | 'command' | 'request'>;

const terminal = (r: RolloutState): boolean => r.status.phase === 'rolled-back' || r.status.phase === 'aborted';
/** A burst of reports from a fleet is one pass. */
const DEBOUNCE_MS = 100;
/**
 * Reports of a big wave arrive for seconds, each asking for a pass; a pass over 10,000 devices
 * is not free. Wait at least this many times the CPU time of the last pass before the next one,
 * so that rollout passes take about a tenth of the hub's CPU at most while reports trickle in
 * (with 2, cheaper passes only ran more often: a third of a core for as long as the wave took).
 * CPU, not elapsed time: a pass that performs actions waits for paced store commits, and that
 * waiting costs nothing. A small fleet's passes cost milliseconds: it still waits DEBOUNCE_MS.
 */
const PASS_GAP_FACTOR = 9;
/** The process's CPU during a pass includes the broker's work meanwhile: never wait longer than this. */
const MAX_PASS_GAP_MS = 2000;
/** Transitions per rollout per pass at most (each is one write); the next pass continues. */
const MAX_TRANSITIONS = 200;
/** The longest a wake timer is set for (see schedule). */
const MAX_WAKE_MS = 3_600_000;
/** How often a rollout in progress is looked at when nothing else wakes it. */
const POLL_MS = 1000;

export class RolloutController {
  private queue: Promise<unknown> = Promise.resolve();
  private soon: NodeJS.Timeout | undefined;
  private wake: NodeJS.Timeout | undefined;
  private stopped = false;
  private lastPassCpuMs = 0;
  /**
   * The fleet as read from the store, shared by the transitions of one queued task (a pass, a
   * command): reading and copying every device, desired and reported document was most of a
   * transition's cost at 10,000 devices. Dropped when a task starts and after any action (pins
   * and desired documents change), so a step never sees the fleet older than its task.
   */
  private fleet: Promise<FleetRead> | undefined;
  /** What the step sees of each device, rebuilt only for devices whose records changed (observation-cache.ts). */
  readonly observations = new ObservationCache();
  private readonly inputs = new StepInputs(this.observations, (gateway, mcu) => this.deps.telemetry?.(gateway, mcu));

  constructor(private readonly deps: RolloutControllerDeps) {}

  /** Re-does the outboxes a killed hub left, then runs a pass. */
  async start(): Promise<void> {
    await this.serial(async () => {
      for (const r of await this.deps.store.rollouts.list()) {
        if (r.status.outbox.length === 0) continue;
        this.deps.log.info(`rollout ${r.name}: re-doing ${r.status.outbox.length} action(s) of revision ${r.status.revision} after a restart`);
        await this.perform(r);
      }
    });
    await this.pass();
  }

  stop(): void {
    this.stopped = true;
    if (this.soon) clearTimeout(this.soon);
    if (this.wake) clearTimeout(this.wake);
  }

  /** Asks for a pass soon; cheap to call on every report. */
  request(): void {
    if (this.stopped) return;
    this.soon ??= setTimeout(
      () => {
        this.soon = undefined;
        void this.pass();
      },
      Math.max(DEBOUNCE_MS, Math.min(MAX_PASS_GAP_MS, this.lastPassCpuMs * PASS_GAP_FACTOR)),
    );
  }

  /** Runs every live rollout until step has nothing more to do. */
  pass(): Promise<void> {
    return this.serial(async () => {
      await this.takeRequests().catch((err: unknown) => this.deps.log.warn(`rollout requests of other hubs not taken yet: ${errorMessage(err)}`));
      const started = process.cpuUsage();
      let next: number | null = null;
      let live = false;
      for (const name of (await this.deps.store.rollouts.snapshot()).map((r) => r.name).sort()) {
        const advanced = await this.advance(name).catch((err: unknown) => {
          this.deps.log.error(`rollout ${name}: ${errorStack(err)}`);
          return { at: Date.now() + 5000, gateWave: false };
        });
        const at = advanced.at;
        if (at !== null && (next === null || at < next)) next = at;
        live ||= advanced.gateWave;
      }
      // What the step waits on is not always a report the feed announces (MCU telemetry for the
      // HIL gate): while a gate wave is in progress, look again at least every second. Other
      // waves wait only on reports (the feed wakes them) and on time (nextCheckAt): polling them
      // too cost a pass over the whole fleet every second of a large rollout.
      if (live) next = Math.min(next ?? Infinity, this.deps.now().getTime() + POLL_MS);
      this.schedule(next);
      const used = process.cpuUsage(started);
      this.lastPassCpuMs = (used.user + used.system) / 1000;
    });
  }

  /** Stores a new rollout (the same spec again is `unchanged`). */
  create(name: string, spec: RolloutSpec): Promise<'created' | 'unchanged'> {
    return this.serial(() => this.createNow(name, spec));
  }

  /** An operator command: one transition, written and acted on, or a refusal naming why. */
  command(name: string, command: RolloutCommand): Promise<RolloutState> {
    return this.serial(() => this.commandNow(name, command));
  }

  /**
   * What `create` would store (nothing is written): `unchanged` for the same spec again, else the
   * new rollout's first state; a refusal throws RolloutRequestError. A hub that does not lead
   * checks a request with it before it queues the request for the leader.
   */
  async prepareCreate(name: string, spec: RolloutSpec): Promise<'unchanged' | RolloutState> {
    const { store } = this.deps;
    const existing = await this.stored(name);
    if (existing !== undefined) {
      if (canonicalJson(existing.spec) === canonicalJson(spec)) return 'unchanged';
      throw new RolloutRequestError('RolloutImmutable', 409, `rollout ${name} exists with another spec; a rollout cannot change: abort it and start one under a new name`);
    }
    const release = await store.releases.get(spec.release.name, spec.release.version);
    if (release === undefined) throw new RolloutRequestError('ReleaseNotFound', 404, `release ${formatReleaseRef(spec.release)} not found; create it first (edgepilot release create -f)`);
    const devices = (await store.devices.snapshot()).map(deviceInfo);
    const candidates = devices.filter((d) => inTarget(spec, d) || benchDevices(spec, [d]).length > 0);
    const refusal = ownershipRefusal(ownershipConflicts(await store.rollouts.snapshot(), candidates.map((d) => d.id), name));
    if (refusal !== undefined) throw new RolloutRequestError('RolloutConflict', 409, `rollout ${name} ${refusal}`);
    return createRollout({ name, spec, devices: candidates, releaseDigest: release.digest, now: this.deps.now().getTime() });
  }

  /** The command's transition as `command` would write it (nothing is written); a refusal throws RolloutRequestError. */
  async prepareCommand(name: string, command: RolloutCommand): Promise<ReturnType<typeof step>> {
    const rollout = await this.stored(name);
    if (rollout === undefined) throw new RolloutRequestError('RolloutNotFound', 404, `rollout ${name} not found`);
    const input = await this.input(rollout);
    if (input === undefined) throw new RolloutRequestError('ReleaseNotFound', 404, `release ${formatReleaseRef(rollout.spec.release)} of rollout ${name} not found`);
    const result = step(rollout, { ...input, command }, this.deps.now().getTime());
    if (result.refused) throw new RolloutRequestError('RolloutCommandRefused', 409, result.refused.message);
    return result;
  }

  private async createNow(name: string, spec: RolloutSpec): Promise<'created' | 'unchanged'> {
    const state = await this.prepareCreate(name, spec);
    if (state === 'unchanged') return 'unchanged';
    await this.write(state);
    const first = state.status.history[0];
    await this.deps.store.events.append(eventSubjects.rollout(name), { time: state.createdAt, type: 'Normal', reason: 'RolloutCreated', message: first?.message ?? 'created' });
    this.request();
    return 'created';
  }

  private async commandNow(name: string, command: RolloutCommand): Promise<RolloutState> {
    const result = await this.prepareCommand(name, command);
    // An operator is answered only once the command's transition is durable.
    const done = await this.commit(result.next, result.events, true);
    this.request();
    return done;
  }

  /** A pass soon if a request waits (the leader's safety net for a notice lost while Redis blinked). */
  requestIfAsked(): void {
    const queue = this.deps.store.rolloutRequests;
    if (this.stopped || queue === undefined) return;
    queue.list().then(
      ({ requests, unreadable }) => void (requests.length + unreadable.length > 0 && this.request()),
      (err: unknown) => this.deps.log.warn(`rollout requests not read: ${errorMessage(err)}`),
    );
  }

  /** Does what people asked through hubs that do not lead (see takeRolloutRequests). */
  private takeRequests(): Promise<void> {
    const { store, log, now } = this.deps;
    if (store.rolloutRequests === undefined) return Promise.resolve();
    return takeRolloutRequests(store.rolloutRequests, { create: (name, spec) => this.createNow(name, spec), command: (name, command) => this.commandNow(name, command), events: store.events, log, now });
  }

  /**
   * The stored rollout itself, not a copy (a 10,000-device rollout is a large object, read on
   * every pass): read-only. step and recordFlashFailure copy on write, and the store keeps the
   * device entries a write did not change, so it neither copies nor checks them again.
   */
  private async stored(name: string): Promise<Readonly<RolloutState> | undefined> {
    return (await this.deps.store.rollouts.snapshot()).find((r) => r.name === name);
  }

  /** Writes a new revision; `onTransition` hears of it once it is durable. */
  private write(next: RolloutState): Promise<void> {
    const written = this.deps.store.rollouts.put(next);
    const { onTransition } = this.deps;
    if (onTransition) written.then(() => onTransition(next), () => undefined);
    return written;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const task = (): Promise<T> => {
      this.fleet = undefined;
      return fn();
    };
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private schedule(at: number | null): void {
    if (this.wake) clearTimeout(this.wake);
    this.wake = undefined;
    if (at === null || this.stopped) return;
    // Node runs a timer longer than 2^31-1 ms (24.8 days) after 1 ms: a rollout starting months
    // ahead ran a pass every millisecond. Such a wake looks again after MAX_WAKE_MS instead.
    this.wake = setTimeout(() => this.request(), Math.min(MAX_WAKE_MS, Math.max(0, at - this.deps.now().getTime()) + 20));
  }

  /**
   * Steps one rollout until nothing changes; resolves to when time alone will change something,
   * and whether it is progressing in a gate wave (which waits on telemetry, see pass()).
   */
  private async advance(name: string): Promise<{ at: number | null; gateWave: boolean }> {
    let rollout = await this.stored(name);
    const gateWave = (): boolean => rollout?.status.phase === 'progressing' && rollout.spec.waves[rollout.status.currentWave]?.gate !== undefined;
    for (let i = 0; rollout !== undefined && !terminal(rollout) && i < MAX_TRANSITIONS; i++) {
      const input = await this.input(rollout);
      if (input === undefined) return { at: null, gateWave: gateWave() };
      const result = step(rollout, input, this.deps.now().getTime());
      if (result.transition === null) return { at: result.nextCheckAt, gateWave: gateWave() };
      this.deps.log.debug(`rollout ${name}: ${result.transition} → revision ${result.next.status.revision}`);
      rollout = await this.commit(result.next, result.events, false);
    }
    return { at: rollout !== undefined && !terminal(rollout) ? this.deps.now().getTime() : null, gateWave: gateWave() };
  }

  /**
   * Writes a transition, records its events, does its actions, then clears the outbox.
   *
   * Every transition is written, but waited for only when it carries actions (write-ahead: no
   * action before the transition holding it is durable) or when someone is answered: at 10,000
   * devices each commit of the store is a large write, paced, and waiting for one per transition
   * was most of a rollout's time. A crash can take back only transitions without actions, which
   * the step derives again from the same reports; the durable state never skips an action.
   */
  private async commit(next: RolloutState, events: StepResultEvents, answered: boolean): Promise<RolloutState> {
    const { store } = this.deps;
    const written = this.write(next);
    if (answered || next.status.outbox.length > 0) await written;
    else written.catch((err: unknown) => this.deps.log.error(`rollout ${next.name}: writing revision ${next.status.revision} failed: ${errorMessage(err)}`));
    // Carry on from the stored revision (carryOn).
    next = await this.carryOn(next);
    // The next rollout of this task must see what this one now owns (ownership).
    this.fleet = this.fleet?.then((read) => ({ ...read, others: read.others.map((r) => (r.name === next.name ? next : r)) }));
    for (const e of events) {
      await store.events.append(eventSubjects.rollout(next.name), e);
      this.deps.log.info(`rollout ${next.name}: ${e.reason}: ${e.message}`);
    }
    return this.perform(next);
  }

  private async perform(rollout: RolloutState): Promise<RolloutState> {
    if (rollout.status.outbox.length === 0) return rollout;
    await performActions(rollout, {
      store: this.deps.store,
      now: this.deps.now,
      log: this.deps.log,
      replan: this.deps.replan,
      ...(this.deps.flash ? { flash: this.deps.flash } : {}),
      flashFailed: (id, message, restoring) => void this.recordFlashFailure(rollout.name, id, message, restoring),
    });
    // Pins, desired documents or verdicts changed: the next step reads the fleet again.
    this.fleet = undefined;
    // Not waited for: the actions are idempotent, so a crash before this is durable only makes a
    // restarted hub do them once more (start()).
    const cleared: RolloutState = { ...rollout, status: { ...rollout.status, outbox: [] } };
    this.deps.store.rollouts.put(cleared).catch((err: unknown) => this.deps.log.error(`rollout ${rollout.name}: clearing the outbox failed: ${errorMessage(err)}`));
    return this.carryOn(cleared);
  }

  /**
   * The stored copy of what was just put (the store holds it from the put's start, before it is
   * durable), with the step's index of its devices handed on to it; `written` if the store holds
   * something else. Carrying on from the store's own object keeps its device entries, so the
   * store checks and copies only those the next transition changes (copies of the caller's would
   * all look changed), and the next pass, which reads the store, finds the index built.
   */
  private async carryOn(written: RolloutState): Promise<RolloutState> {
    const stored = await this.stored(written.name);
    if (stored === undefined || stored.status.revision !== written.status.revision || stored.status.outbox.length !== written.status.outbox.length) return written;
    shareDeviceIndex(written.status.devices, stored.status.devices);
    return stored;
  }

  /**
   * A failed flash, written with the rollout at once (its own transition, with its event), so a
   * hub restarted before the next pass still fails the device on it instead of at its deadline.
   */
  private recordFlashFailure(name: string, deviceId: string, message: string, restoring: boolean): Promise<void> {
    return this.serial(async () => {
      const rollout = await this.stored(name);
      const recorded = rollout && recordFlashFailure(rollout, deviceId, message, restoring);
      if (!recorded) return;
      await this.write(recorded.next);
      await this.deps.store.events.append(eventSubjects.rollout(name), { time: this.deps.now().toISOString(), ...recorded.event });
      this.deps.log.warn(`rollout ${name}: ${recorded.event.message}`);
      this.request();
    }).catch((err: unknown) => this.deps.log.error(`rollout ${name}: recording a flash failure of ${deviceId}: ${errorMessage(err)}`));
  }

  /** Everything the steps of one task look at besides the rollout itself (see `fleet`). */
  private async readFleet(): Promise<FleetRead> {
    const { store } = this.deps;
    // Read-only views, not copies: copying every device's facts and documents was most of a read.
    const [devices, desired, reported, pins, windows, others] = await Promise.all([
      store.devices.snapshot(),
      store.deviceState.desiredSnapshot(),
      store.deviceState.reportedSnapshot(),
      store.releasePins.snapshot(),
      store.maintenanceWindows.list(),
      store.rollouts.snapshot(),
    ]);
    const live = others.filter((r) => !terminal(r));
    this.observations.retain(new Set(devices.map((d) => d.id)), new Set(await Promise.all(live.map(async (r) => (await store.releases.get(r.spec.release.name, r.spec.release.version))?.digest ?? ''))));
    return { fleet: { devices, desired, reported, pins, windows: windows.map((w) => w.spec) }, others };
  }

  /** The step's input for a rollout, from the store (undefined: its release is gone). */
  private async input(rollout: Readonly<RolloutState>): Promise<StepInput | undefined> {
    const { store } = this.deps;
    const release = await store.releases.get(rollout.spec.release.name, rollout.spec.release.version);
    if (release === undefined) return undefined;
    const read = await (this.fleet ??= this.readFleet());
    const { fleet } = read;
    // Another rollout's transition in this task replaces it in `others` (ownership): a new input then.
    const others = read.others.filter((r) => r.name !== rollout.name);
    const { release: content, window, devices } = this.inputs.build(rollout, release, fleet, others);
    return {
      release: content,
      devices,
      window,
      gateVerdict: (await store.gateVerdicts.get(release.digest)) ?? null,
      ...(this.deps.firmwareImages ? { firmwareImages: this.deps.firmwareImages } : {}),
    };
  }
}

type StepResultEvents = ReturnType<typeof step>['events'];
/** `others`: every stored rollout, as read at the start (the one being stepped is skipped by name). */
type FleetRead = { fleet: FleetSnapshot; others: readonly Readonly<RolloutState>[] };
