// The contract of ApiTokenRepository (src/hub/store/api-token-records.ts), run against the file a
// hub keeps of its own (test/unit/hub/api-token-contract-file.test.ts) and the store several hubs
// share (test/integration/api-token-contract-postgres.test.ts).
import type { ExecutionContext, TestFn } from 'ava';
import type { ApiTokenRecord, ApiTokenRepository } from '../../src/hub/store/api-token-records.js';

export interface ApiTokenBackend {
  /** A new, empty backing for one test: `open` opens a repository on it (again: a reopen, or where `shared` another hub). */
  create(t: ExecutionContext): Promise<{ open(): Promise<ApiTokenRepository>; shared: boolean }>;
}

export const apiTokenRecord = (name: string, over: Partial<ApiTokenRecord> = {}): ApiTokenRecord => ({
  name,
  role: 'viewer',
  description: '',
  secretHash: 'a'.repeat(64),
  createdAt: new Date(0).toISOString(),
  createdBy: 'admin',
  ...over,
});

class Taken extends Error {}

export function apiTokenContract(test: TestFn, label: string, backend: ApiTokenBackend): void {
  test(`${label}: API tokens: a change stores what it returns, durably; a change that throws stores nothing`, async (t) => {
    const backing = await backend.create(t);
    const repo = await backing.open();
    t.deepEqual(await repo.list(), []);
    t.deepEqual(await repo.change('alice', (current) => (t.is(current, undefined), apiTokenRecord('alice'))), apiTokenRecord('alice'));
    await repo.change('alice', (current) => ({ ...(current ?? apiTokenRecord('alice')), revokedAt: new Date(1000).toISOString() }));
    await t.throwsAsync(
      repo.change('bob', () => {
        throw new Taken('no');
      }),
      { instanceOf: Taken },
    );
    await t.throwsAsync(repo.change('carol', () => ({ ...apiTokenRecord('carol'), secretHash: 'not a hash' })));
    const again = await backing.open();
    t.deepEqual(await again.list(), [apiTokenRecord('alice', { revokedAt: new Date(1000).toISOString() })]);
    t.is(again.shared, backing.shared);
  });

  test(`${label}: API tokens: changes of one name at once see each other, one after the other`, async (t) => {
    const backing = await backend.create(t);
    const repos = backing.shared ? [await backing.open(), await backing.open()] : [await backing.open()];
    // Each creation refuses a name already there: of several at once (through two hubs where shared), exactly one is stored.
    const create = (repo: ApiTokenRepository, by: string): Promise<ApiTokenRecord> =>
      repo.change('dave', (current) => {
        if (current) throw new Taken(`taken by ${current.createdBy}`);
        return apiTokenRecord('dave', { createdBy: by });
      });
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => create(repos[i % repos.length]!, `hub-${i}`)));
    t.is(results.filter((r) => r.status === 'fulfilled').length, 1);
    const winner = results.find((r): r is PromiseFulfilledResult<ApiTokenRecord> => r.status === 'fulfilled')?.value;
    for (const repo of repos) t.deepEqual(await repo.list(), winner ? [winner] : []);
  });
}
