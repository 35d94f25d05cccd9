// lowdb repositories of releases, rollouts, maintenance windows, gate verdicts and release pins.
import { releaseKey } from '../../protocol/index.js';
import type { Backing } from './lowdb-repositories.js';
import { assertStorable, checkRolloutDevices } from './record-check.js';
import { rolloutDeviceKey } from './sharded-control.js';
import {
  ReleaseImmutableError,
  type GateVerdictRepository,
  type MaintenanceWindowRepository,
  type ReleasePinRepository,
  type ReleaseRepository,
  type RolloutRepository,
  type RolloutStores,
} from './repository.js';
import type { ReleasePin, RolloutState } from '../../protocol/index.js';

const copy = <T>(value: T | undefined): T | undefined => (value === undefined ? undefined : structuredClone(value));

function releaseRepository(b: Backing): ReleaseRepository {
  return {
    get: async (name, version) => copy(b.doc().releases[releaseKey(name, version)]),
    list: async () => Object.values(b.doc().releases).map((r) => structuredClone(r)),
    create: async (release) => {
      const key = releaseKey(release.name, release.spec.version);
      const existing = b.doc().releases[key];
      if (existing !== undefined) {
        if (existing.digest === release.digest) return 'unchanged';
        throw new ReleaseImmutableError(`release ${key} exists with other content (digest ${existing.digest}); releases are immutable: create a new version`);
      }
      assertStorable('releases', key, release);
      b.doc().releases[key] = structuredClone(release);
      await b.persist('sync');
      return 'created';
    },
  };
}

function rolloutRepository(b: Backing): RolloutRepository {
  return {
    get: async (name) => copy(b.doc().rollouts[name]),
    list: async () => Object.values(b.doc().rollouts).map((r) => structuredClone(r)),
    // put stores a copy and later replaces it whole: stored rollouts never change in place.
    snapshot: async () => Object.values(b.doc().rollouts),
    put: async (rollout) => {
      const previous = b.doc().rollouts[rollout.name];
      // Only device entries that are not the stored ones are checked, copied and written: a
      // transition replaces the entries it changes and keeps the others (copy on write), so its
      // cost follows the devices it moved, not the rollout's size. Unchanged entries are the
      // store's own objects, checked when they were stored.
      // The map to store: the stored one when passed back (it is never edited in place), else
      // the caller's entries with copies of the changed ones.
      const { changed, devices } = checkRolloutDevices(rollout, previous, structuredClone);
      const { devices: _given, ...status } = rollout.status;
      // A rollout's spec never changes: the stored one is kept when the caller passed it back.
      const { spec, ...header } = rollout;
      const stored: RolloutState = { ...structuredClone({ ...header, status: { ...status, devices: {} } }), spec: spec === previous?.spec ? previous.spec : structuredClone(spec) };
      stored.status.devices = devices;
      for (const id of changed) b.controlChanged('rolloutDevices', rolloutDeviceKey(rollout.name, id));
      b.doc().rollouts[rollout.name] = stored;
      await b.persist('sync');
    },
  };
}

function maintenanceWindowRepository(b: Backing): MaintenanceWindowRepository {
  return {
    get: async (name) => copy(b.doc().maintenanceWindows[name]),
    list: async () => Object.values(b.doc().maintenanceWindows).map((w) => structuredClone(w)),
    put: async (window) => {
      assertStorable('maintenanceWindows', window.name, window);
      b.doc().maintenanceWindows[window.name] = structuredClone(window);
      await b.persist('sync');
    },
    delete: async (name) => {
      if (b.doc().maintenanceWindows[name] === undefined) return false;
      delete b.doc().maintenanceWindows[name];
      await b.persist('sync');
      return true;
    },
  };
}

function gateVerdictRepository(b: Backing): GateVerdictRepository {
  return {
    get: async (digest) => copy(b.doc().gateVerdicts[digest]),
    put: async (verdict) => {
      assertStorable('gateVerdicts', verdict.releaseDigest, verdict);
      b.doc().gateVerdicts[verdict.releaseDigest] = structuredClone(verdict);
      await b.persist('sync');
    },
  };
}

function releasePinRepository(b: Backing): ReleasePinRepository {
  // set stores copies and replaces them whole, so the map of the stored pins stays true until the next set.
  let snapshot: ReadonlyMap<string, Readonly<ReleasePin>> | undefined;
  return {
    all: async () => new Map(Object.entries(b.doc().releasePins).map(([k, v]) => [k, structuredClone(v)])),
    snapshot: async () => (snapshot ??= new Map(Object.entries(b.doc().releasePins))),
    get: async (id) => copy(b.doc().releasePins[id]),
    set: async (ids, pin) => {
      if (pin !== null) for (const id of ids) assertStorable('releasePins', id, pin);
      snapshot = undefined;
      for (const id of ids) {
        if (pin === null) delete b.doc().releasePins[id];
        else b.doc().releasePins[id] = structuredClone(pin);
        b.controlChanged('releasePins', id);
      }
      await b.persist('sync');
    },
  };
}

export function rolloutStores(b: Backing): RolloutStores {
  return {
    releases: releaseRepository(b),
    rollouts: rolloutRepository(b),
    maintenanceWindows: maintenanceWindowRepository(b),
    gateVerdicts: gateVerdictRepository(b),
    releasePins: releasePinRepository(b),
  };
}
