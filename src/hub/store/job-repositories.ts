import { canonicalJson } from '../../protocol/index.js';
import { runOwnerKey, type StoredJobRun } from './job-records.js';
import type { Backing } from './lowdb-repositories.js';
import { assertStorable } from './record-check.js';
import { mergeRun } from './run-merge.js';
import type { CronJobRepository, JobRepository, JobRunRepository } from './repository.js';

/** lowdb repositories for Jobs, CronJobs and their runs; same pattern as the workload repository. */

export function jobRepository(b: Backing): JobRepository {
  return {
    get: async (name) => structuredClone(b.doc().jobs[name]),
    list: async () => Object.values(b.doc().jobs).map((j) => structuredClone(j)),
    putAll: async (jobs) => {
      for (const j of jobs) assertStorable('jobs', j.name, j);
      for (const j of jobs) b.doc().jobs[j.name] = structuredClone(j);
      await b.persist('sync');
    },
    delete: async (name) => {
      if (!b.doc().jobs[name]) return false;
      delete b.doc().jobs[name];
      delete b.doc().jobRuns[runOwnerKey('Job', name)];
      await b.persist('sync');
      return true;
    },
    // Compared and written in one turn of the event loop: an API write comes wholly before or after.
    replaceUnchanged: async (changes) => {
      const skipped: string[] = [];
      const written: typeof changes = changes.filter(({ read }) => (unchanged(b.doc().jobs[read.name], read) ? true : (skipped.push(read.name), false)));
      for (const { next } of written) assertStorable('jobs', next.name, next);
      for (const { next } of written) b.doc().jobs[next.name] = structuredClone(next);
      if (written.length > 0) await b.persist('sync');
      return skipped;
    },
    deleteUnchanged: async (read) => {
      if (!unchanged(b.doc().jobs[read.name], read)) return false;
      delete b.doc().jobs[read.name];
      delete b.doc().jobRuns[runOwnerKey('Job', read.name)];
      await b.persist('sync');
      return true;
    },
  };
}

/** Whether the stored Job is the one read (the same record, whatever its keys' order). */
export function unchanged(stored: unknown, read: unknown): boolean {
  return stored !== undefined && canonicalJson(stored) === canonicalJson(read);
}

export function cronJobRepository(b: Backing): CronJobRepository {
  return {
    get: async (name) => structuredClone(b.doc().cronJobs[name]),
    list: async () => Object.values(b.doc().cronJobs).map((c) => structuredClone(c)),
    putAll: async (cronJobs) => {
      for (const c of cronJobs) assertStorable('cronJobs', c.name, c);
      for (const c of cronJobs) b.doc().cronJobs[c.name] = structuredClone(c);
      await b.persist('sync');
    },
    delete: async (name) => {
      if (!b.doc().cronJobs[name]) return false;
      delete b.doc().cronJobs[name];
      delete b.doc().jobRuns[runOwnerKey('CronJob', name)];
      await b.persist('sync');
      return true;
    },
  };
}

export function jobRunRepository(b: Backing): JobRunRepository {
  return {
    add: async (runs) => {
      let added = 0;
      for (const run of runs) {
        const key = runOwnerKey(run.owner.kind, run.owner.name);
        const merged = mergeRun(b.doc().jobRuns[key] ?? [], structuredClone(run));
        if (!merged) continue;
        b.doc().jobRuns[key] = merged;
        added += 1;
      }
      // Durable even when nothing was new: the caller acknowledges after this resolves.
      await b.persist('sync');
      return added;
    },
    list: async (owner) => (b.doc().jobRuns[owner] ?? []).map((r: StoredJobRun) => structuredClone(r)),
    deleteOwner: async (owner) => {
      delete b.doc().jobRuns[owner];
      await b.persist('sync');
    },
  };
}
