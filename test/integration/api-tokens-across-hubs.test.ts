// People's API tokens with two hubs on one PostgreSQL (issue 15): a token made at hub A opens hub
// B, and a revocation at A is refused at B within the stated bound (API_TOKENS_REFRESH_MS).
import test from 'ava';
import { API_TOKENS_REFRESH_MS, ApiTokenError, ApiTokens } from '../../src/hub/api/roles/api-tokens.js';
import { openPostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import { freshDatabase } from '../support/postgres.js';

const quiet = (): undefined => undefined;

/** Polls `check` for up to `periods` refresh periods (counted in tenths of one, not timed); resolves to whether it came to hold. */
async function within(check: () => boolean, periods: number): Promise<boolean> {
  for (let i = 0; i <= periods * 10; i++) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, API_TOKENS_REFRESH_MS / 10));
  }
  return check();
}

test('a token made at hub A opens hub B; revoked at A, it is refused at B within the refresh bound; one name is made once across hubs', async (t) => {
  const url = await freshDatabase(t);
  const storeA = await openPostgresStore(url, { log: quiet });
  const storeB = await openPostgresStore(url, { log: quiet });
  const now = (): Date => new Date();
  const a = await ApiTokens.open(storeA.apiTokens, now);
  const b = await ApiTokens.open(storeB.apiTokens, now);
  t.teardown(async () => {
    a.close();
    b.close();
    await Promise.all([storeA.close(), storeB.close()]);
  });

  const alice = await a.create({ name: 'alice', role: 'operator', description: 'on-call' }, 'admin');
  t.deepEqual(a.identify(alice.token), { name: 'alice', role: 'operator' }, 'at once at the hub that made it');
  // A refresh may be on its way already: the bound is two periods (one read's time included).
  t.true(await within(() => b.identify(alice.token) !== undefined, 2), 'known at hub B');
  t.deepEqual(b.identify(alice.token), { name: 'alice', role: 'operator' });
  t.deepEqual(b.list().map((x) => x.name), ['alice']);

  await a.revoke('alice');
  t.is(a.identify(alice.token), undefined, 'refused at once at the hub that revoked it');
  t.true(await within(() => b.identify(alice.token) === undefined, 2), 'refused at hub B');
  await t.throwsAsync(b.revoke('alice'), { instanceOf: ApiTokenError, message: /already revoked/ });

  // The same name made at both hubs at once: one token, the other told the name is taken.
  const both = await Promise.allSettled([a.create({ name: 'bob', role: 'viewer', description: '' }, 'admin'), b.create({ name: 'bob', role: 'admin', description: '' }, 'admin')]);
  t.is(both.filter((r) => r.status === 'fulfilled').length, 1);
  const refused = both.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  t.is((refused?.reason as ApiTokenError | undefined)?.code, 'exists');
});
