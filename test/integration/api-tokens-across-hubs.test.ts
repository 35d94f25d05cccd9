// People's API tokens with two hubs on one PostgreSQL (issue 15): a token made at hub A opens hub
// B, and a revocation at A is refused at B within the stated bound (API_TOKENS_REFRESH_MS).
import test from 'ava';
import { API_TOKENS_REFRESH_MS, ApiTokenError, ApiTokens } from '../../src/hub/api/roles/api-tokens.js';
import { openPostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import { importApiTokenFile, importedName } from '../../src/hub/api/roles/api-token-import.js';
import { API_TOKEN_PREFIX, type AuditEntry } from '../../src/protocol/index.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '../support/paths.js';
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

test("a hub moved to PostgreSQL brings its api-tokens.json: tokens not there yet are imported (hashes only, audited), the file renamed, a second start imports nothing", async (t) => {
  const url = await freshDatabase(t);
  const store = await openPostgresStore(url, { log: quiet });
  const dir = await makeTempDir('ep-token-import-');
  t.teardown(async () => {
    await store.close();
    await dir.remove();
  });
  const now = (): Date => new Date();
  const path = join(dir.path, 'api-tokens.json');
  // The hub's tokens when it ran alone; another hub made a `bob` in the shared store already.
  const alone = await ApiTokens.open(path, now);
  const alice = await alone.create({ name: 'alice', role: 'operator', description: 'on-call' }, 'admin');
  const oldBob = await alone.create({ name: 'bob', role: 'admin', description: '' }, 'admin');
  const shared = await ApiTokens.open(store.apiTokens, now);
  t.teardown(() => shared.close());
  const sharedBob = await shared.create({ name: 'bob', role: 'viewer', description: '' }, 'admin');
  const audited: AuditEntry[] = [];
  const lines: string[] = [];
  const run = (): ReturnType<typeof importApiTokenFile> => importApiTokenFile({ path, into: store.apiTokens, audit: async (e) => void audited.push(e), now, log: (l) => lines.push(l) });

  const first = await run();
  t.deepEqual(first && { imported: first.imported, kept: first.kept }, { imported: ['alice'], kept: ['bob'] });
  t.false(existsSync(path), 'the file is renamed');
  t.true(existsSync(importedName(path)));
  t.is(lines.length, 1, `one line: ${lines.join(' | ')}`);
  t.regex(lines[0] ?? '', /1 of 2 moved .*already there, left as they were: bob/);
  t.deepEqual(audited.map((e) => [e.method, e.object, e.who]), [['IMPORT', 'name=alice', 'hub']]);
  const stored = await store.apiTokens.list();
  // The secret is base64url, which has `_` in its alphabet: it is everything after `epu_alice_`.
  const aliceSecret = alice.token.slice(`${API_TOKEN_PREFIX}alice_`.length);
  t.is(aliceSecret.length, 43);
  t.false(JSON.stringify(stored).includes(aliceSecret), 'no secret stored, only its hash');
  await shared.refresh();
  t.deepEqual(shared.identify(alice.token), { name: 'alice', role: 'operator' }, "alice's token opens the shared hubs");
  t.is(shared.identify(oldBob.token), undefined, 'the shared bob is kept, not replaced by the file');
  t.deepEqual(shared.identify(sharedBob.token), { name: 'bob', role: 'viewer' });

  t.is(await run(), undefined, 'a second start finds no file and imports nothing');
  t.is(audited.length, 1);
});
