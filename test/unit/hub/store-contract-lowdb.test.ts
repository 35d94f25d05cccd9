import test from 'ava';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { makeTempDir } from '../../support/paths.js';
import { storeContract } from '../../support/store-contract.js';

storeContract(test, 'lowdb', {
  create: async (t) => {
    const dir = await makeTempDir('ep-contract-');
    t.teardown(() => dir.remove());
    return { open: () => openLowdbStore(dir.path, () => undefined), shared: false };
  },
});
