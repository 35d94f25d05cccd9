import test from 'ava';
import { openPostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import { freshDatabase } from '../support/postgres.js';
import { storeContract } from '../support/store-contract.js';

storeContract(test, 'postgres', {
  create: async (t) => {
    const url = await freshDatabase(t);
    return { open: () => openPostgresStore(url, { log: () => undefined }), shared: true };
  },
});
