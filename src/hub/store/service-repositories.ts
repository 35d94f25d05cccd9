// lowdb repository of Services (issue 14).
import type { Backing } from './lowdb-repositories.js';
import { eventSubjects } from './records.js';
import type { ServiceRepository } from './repository.js';

export function serviceRepository(b: Backing): ServiceRepository {
  return {
    get: async (name) => {
      const found = b.doc().services[name];
      return found === undefined ? undefined : structuredClone(found);
    },
    list: async () => Object.values(b.doc().services).map((s) => structuredClone(s)),
    delete: async (name) => {
      if (b.doc().services[name] === undefined) return false;
      delete b.doc().services[name];
      // Its history goes with it: a new service of that name starts without it.
      if (b.observed().events[eventSubjects.service(name)] !== undefined) {
        delete b.observed().events[eventSubjects.service(name)];
        b.observedChanged('events', eventSubjects.service(name));
      }
      await b.persist('sync');
      return true;
    },
  };
}
