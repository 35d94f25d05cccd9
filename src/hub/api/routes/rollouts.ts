import type { FastifyInstance } from 'fastify';
import {
  nameSchema,
  releaseKey,
  rolloutCommandSchema,
  semverSchema,
  type DeviceReleaseView,
  type ReleaseRecord,
  type ReleaseView,
  type RolloutState,
  type RolloutView,
  type WaveCountsView,
} from '../../../protocol/index.js';
import { eventSubjects } from '../../store/records.js';
import type { HubStore } from '../../store/repository.js';
import { RolloutRequestError, type RolloutRequests } from '../../rollouts/rollout-controller.js';
import { createRollouts, isRolloutKind, prepareRolloutManifests, rolloutRecords, type PreparedRolloutManifests } from '../../rollouts/rollout-manifests.js';
import { ReleaseImmutableError } from '../../store/repository.js';
import { badRequest, HttpError, notFound } from '../http-error.js';
import { checked, pathParam, quoted } from '../params.js';
import { ownedDevices } from '../../../scheduler/rollout/index.js';
import type { WorkloadRouteDeps } from './workloads.js';

export interface RolloutRouteDeps {
  store: HubStore;
  controller: RolloutRequests;
}

/** A refused rollout request as the API answers it. */
function toHttp(err: unknown): unknown {
  if (err instanceof RolloutRequestError) return new HttpError(err.status, err.code, err.message);
  if (err instanceof ReleaseImmutableError) return new HttpError(409, err.code, err.message);
  return err;
}

/** What `POST /v1/apply` needs to take Release, Rollout and MaintenanceWindow documents. */
export function rolloutApplyKinds(deps: RolloutRouteDeps): NonNullable<WorkloadRouteDeps['rolloutKinds']> {
  return {
    isMine: isRolloutKind,
    prepare: (docs, now) => prepareRolloutManifests(docs, deps.store, now),
    records: (prepared, now) => rolloutRecords(prepared as PreparedRolloutManifests, deps.store, now),
    afterWrite: (prepared, windowsChanged) => createRollouts(prepared as PreparedRolloutManifests, deps.controller, windowsChanged).catch((err: unknown) => Promise.reject(toHttp(err))),
  };
}

function name(params: unknown, what: 'release' | 'rollout'): string {
  const value = (params as Record<string, unknown>)['name'];
  const parsed = nameSchema.safeParse(value);
  if (!parsed.success) throw badRequest(`name: ${quoted(value)} is not a valid ${what} name`);
  return parsed.data;
}

const countKey = { pending: 'pending', 'waiting-window': 'waitingWindow', updating: 'updating', verifying: 'verifying', healthy: 'healthy', failed: 'failed', deferred: 'deferred', 'rolled-back': 'rolledBack' } as const;

const noCounts = (): WaveCountsView => ({ total: 0, pending: 0, waitingWindow: 0, updating: 0, verifying: 0, healthy: 0, failed: 0, deferred: 0, rolledBack: 0 });

/** Every wave's counts in one walk over the devices (a view of a 10,000-device rollout is polled). */
export function allWaveCounts(rollout: Readonly<RolloutState>): WaveCountsView[] {
  const counts = rollout.spec.waves.map(noCounts);
  for (const d of Object.values(rollout.status.devices)) {
    const c = counts[d.wave];
    if (c === undefined) continue;
    c.total += 1;
    c[countKey[d.state]] += 1;
  }
  return counts;
}

export function waveCounts(rollout: Readonly<RolloutState>, wave: number): WaveCountsView {
  return allWaveCounts(rollout)[wave] ?? noCounts();
}

/**
 * Views of stored rollouts, by the stored object: the store replaces a rollout whole on every
 * write and never edits it in place, so a view stays true until the next transition (a
 * 10,000-device rollout is polled by `rollout status --watch` more often than it changes).
 */
const views = { withSpec: new WeakMap<Readonly<RolloutState>, RolloutView>(), withoutSpec: new WeakMap<Readonly<RolloutState>, RolloutView>() };

function storedRolloutView(r: Readonly<RolloutState>, withSpec: boolean): RolloutView {
  const cache = withSpec ? views.withSpec : views.withoutSpec;
  let view = cache.get(r);
  if (view === undefined) cache.set(r, (view = rolloutView(r, withSpec)));
  return view;
}

export function rolloutView(r: Readonly<RolloutState>, withSpec: boolean): RolloutView {
  const counts = allWaveCounts(r);
  return {
    name: r.name,
    release: r.spec.release,
    phase: r.status.phase,
    currentWave: r.status.currentWave,
    createdAt: r.createdAt,
    revision: r.status.revision,
    pause: r.status.pause,
    waves: r.spec.waves.map((w, index) => {
      const ws = r.status.waves[index];
      return { index, name: w.name ?? (w.gate ? 'gate' : `wave-${index}`), state: ws?.state ?? 'pending', ...(ws?.reason ? { reason: ws.reason } : {}), counts: counts[index] ?? noCounts() };
    }),
    devices: Object.entries(r.status.devices)
      .sort(([a, x], [b, y]) => x.wave - y.wave || (a < b ? -1 : 1))
      .map(([id, d]) => ({ id, wave: d.wave, state: d.state, since: d.since, ...(d.reason ? { reason: d.reason } : {}) })),
    history: r.status.history,
    ...(withSpec ? { spec: r.spec } : {}),
  };
}

async function releaseView(store: HubStore, r: ReleaseRecord, withSpec: boolean): Promise<ReleaseView> {
  const pins = await store.releasePins.all();
  const devices = [...pins.values()].filter((p) => p.release.name === r.name && p.release.version === r.spec.version).length;
  return {
    name: r.name,
    version: r.spec.version,
    digest: r.digest,
    createdAt: r.createdAt,
    workloads: Object.keys(r.spec.workloads).sort(),
    firmware: r.spec.firmware,
    gate: (await store.gateVerdicts.get(r.digest)) ?? null,
    devices,
    ...(withSpec ? { spec: r.spec } : {}),
  };
}

export function registerRolloutRoutes(app: FastifyInstance, deps: RolloutRouteDeps): void {
  const { store, controller } = deps;

  app.get('/v1/releases', async () => {
    const releases = (await store.releases.list()).sort((a, b) => a.name.localeCompare(b.name) || a.createdAt.localeCompare(b.createdAt));
    return { items: await Promise.all(releases.map((r) => releaseView(store, r, false))) };
  });

  /** `describe release NAME` (every version) or `NAME@VERSION`. */
  app.get('/v1/releases/:ref', async (request) => {
    const ref = String((request.params as Record<string, unknown>)['ref'] ?? '');
    const [n, version] = ref.split('@', 2) as [string, string | undefined];
    if (!nameSchema.safeParse(n).success) throw badRequest(`release: ${quoted(ref)} is not a release name (NAME or NAME@VERSION)`);
    if (version !== undefined && !semverSchema.safeParse(version).success) throw badRequest(`release: ${quoted(version)} is not a semantic version`);
    const matching = (await store.releases.list()).filter((r) => r.name === n && (version === undefined || r.spec.version === version));
    if (matching.length === 0) throw notFound(`release ${version === undefined ? n : releaseKey(n, version)}`);
    return { items: await Promise.all(matching.map((r) => releaseView(store, r, true))) };
  });

  // Views are built from the stored rollouts themselves (read-only): copying a 10,000-device rollout per poll cost more than the view.
  app.get('/v1/rollouts', async () => ({ items: [...(await store.rollouts.snapshot())].sort((a, b) => a.name.localeCompare(b.name)).map((r) => storedRolloutView(r, false)) }));

  app.get('/v1/rollouts/:name', async (request) => {
    const n = name(request.params, 'rollout');
    const r = (await store.rollouts.snapshot()).find((x) => x.name === n);
    if (!r) throw notFound(`rollout ${n}`);
    return { ...storedRolloutView(r, true), events: await store.events.list(eventSubjects.rollout(n)) };
  });

  app.get('/v1/devices/:id/release', async (request): Promise<DeviceReleaseView> => {
    const id = pathParam(request.params, 'id');
    if (!(await store.devices.get(id))) throw notFound(`device ${id}`);
    const pin = await store.releasePins.get(id);
    // The rollout that has the device now: a live one that owns it, else the one that pinned it.
    const rollouts = await store.rollouts.list();
    const owner = rollouts.find((r) => ownedDevices(r).includes(id)) ?? rollouts.find((r) => r.name === pin?.rollout && r.status.devices[id] !== undefined);
    const d = owner?.status.devices[id];
    return {
      release: pin?.release ?? null,
      rollout: owner && d ? { name: owner.name, phase: owner.status.phase, wave: d.wave, state: d.state, ...(d.reason ? { reason: d.reason } : {}) } : null,
    };
  });

  app.post('/v1/rollouts/:name/commands', async (request) => {
    const n = name(request.params, 'rollout');
    const command = checked(rolloutCommandSchema, request.body, 'command');
    try {
      return rolloutView(await controller.command(n, command), false);
    } catch (err) {
      throw toHttp(err);
    }
  });
}
