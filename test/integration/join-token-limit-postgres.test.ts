// A join token's use limit holds across hubs sharing PostgreSQL (issue 15). Each hub took a join's
// use lazily, checked against the row as it read it: two hubs each saw a use left, and two boards
// joined on a `--max-uses 1` token. A limited token's use is now taken under the row's lock.
import test from 'ava';
import { JoinTokens } from '../../src/hub/fleet/tokens.js';
import { openPostgresStore } from '../../src/hub/store/postgres/postgres-store.js';
import { freshDatabase } from '../support/postgres.js';

const quiet = (): undefined => undefined;
const now = (): Date => new Date();

async function twoHubs(t: Parameters<typeof freshDatabase>[0]): Promise<[JoinTokens, JoinTokens, () => Promise<number>]> {
  const url = await freshDatabase(t);
  const [a, b] = await Promise.all([openPostgresStore(url, { log: quiet }), openPostgresStore(url, { log: quiet })]);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  return [new JoinTokens(a.tokens, now), new JoinTokens(b.tokens, now), async () => (await b.tokens.list())[0]?.uses ?? -1];
}

test('a --max-uses 1 token taken at two hubs at once registers one board', async (t) => {
  const [atA, atB, uses] = await twoHubs(t);
  const { token } = await atA.create({ ttlSeconds: 600, labels: {}, description: 'one board', maxUses: 1 });
  const [one, two] = await Promise.all([atA.consume(token), atB.consume(token)]);
  t.deepEqual([one.ok, two.ok].sort(), [false, true]);
  const refused = one.ok ? two : one;
  t.like(refused, { ok: false, reason: 'exhausted-token' });
  t.is(await uses(), 1);
});

test('a --max-uses 3 token taken 8 times over two hubs at once: 3 taken, 5 refused; a given-back use can be taken again', async (t) => {
  const [atA, atB, uses] = await twoHubs(t);
  const { token } = await atA.create({ ttlSeconds: 600, labels: {}, description: 'three boards', maxUses: 3 });
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 === 0 ? atA : atB).consume(token)));
  const taken = results.filter((r) => r.ok);
  t.is(taken.length, 3);
  t.is(await uses(), 3);
  const first = taken[0];
  if (!first?.ok) return t.fail('nothing taken');
  await first.giveBack();
  t.true((await atB.consume(token)).ok);
  t.is(await uses(), 3);
});
