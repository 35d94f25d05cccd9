// lowdb repository of Services (issue 14).
import type { Backing } from './lowdb-repositories.js';
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
      await b.persist('sync');
      return true;
    },
  };
}
