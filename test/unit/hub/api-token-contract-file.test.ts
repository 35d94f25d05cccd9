import test from 'ava';
import { join } from 'node:path';
import { fileApiTokenRepository } from '../../../src/hub/store/api-token-records.js';
import { apiTokenContract } from '../../support/api-token-contract.js';
import { makeTempDir } from '../../support/paths.js';

apiTokenContract(test, 'file', {
  create: async (t) => {
    const dir = await makeTempDir('ep-apitokens-contract-');
    t.teardown(() => dir.remove());
    return { open: () => fileApiTokenRepository(join(dir.path, 'api-tokens.json')), shared: false };
  },
});
