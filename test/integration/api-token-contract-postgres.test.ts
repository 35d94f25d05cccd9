import test from 'ava';
import { openPostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import { apiTokenContract } from '../support/api-token-contract.js';
import { freshDatabase } from '../support/postgres.js';

apiTokenContract(test, 'postgres', {
  create: async (t) => {
    const url = await freshDatabase(t);
    return {
      open: async () => {
        const store = await openPostgresStore(url, { log: () => undefined });
        t.teardown(() => store.close());
        return store.apiTokens;
      },
      shared: true,
    };
  },
});
