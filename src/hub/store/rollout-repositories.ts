// lowdb repositories of releases, rollouts, maintenance windows, gate verdicts and release pins.
import { releaseKey } from '../../protocol/index.js';
import type { Backing } from './lowdb-repositories.js';
import { assertStorable } from './record-check.js';
import {
  ReleaseImmutableError,
  type GateVerdictRepository,
  type MaintenanceWindowRepository,
  type ReleasePinRepository,
  type ReleaseRepository,
  type RolloutRepository,
  type RolloutStores,
} from './repository.js';

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
      assertStorable('rollouts', rollout.name, rollout);
      b.doc().rollouts[rollout.name] = structuredClone(rollout);
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
  return {
    all: async () => new Map(Object.entries(b.doc().releasePins).map(([k, v]) => [k, structuredClone(v)])),
    get: async (id) => copy(b.doc().releasePins[id]),
    set: async (ids, pin) => {
      if (pin !== null) for (const id of ids) assertStorable('releasePins', id, pin);
      for (const id of ids) {
        if (pin === null) delete b.doc().releasePins[id];
        else b.doc().releasePins[id] = structuredClone(pin);
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
