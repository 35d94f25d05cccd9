import test, { type ExecutionContext } from 'ava';
import { JoinTokens } from '../../../src/hub/fleet/tokens.js';
import { deviceIdBase } from '../../../src/hub/fleet/registration.js';
import { openLowdbStore } from '../../../src/hub/store/lowdb-store.js';
import { makeTempDir } from '../../support/paths.js';

async function setup(t: ExecutionContext) {
  const dir = await makeTempDir();
  const store = await openLowdbStore(dir.path);
  t.teardown(async () => {
    await store.close();
    await dir.remove();
  });
  let now = new Date('2026-11-25T12:00:00Z');
  const tokens = new JoinTokens(store.tokens, () => now);
  return { tokens, advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

test('a token is valid until it expires, then refused with the time it expired', async (t) => {
  const { tokens, advance } = await setup(t);
  const created = await tokens.create({ ttlSeconds: 3600, labels: {}, description: '' });
  t.regex(created.token, /^[a-z0-9]{6}\.[A-Za-z0-9_-]{32}$/);
  t.true((await tokens.consume(created.token)).ok);
  advance(3600 * 1000);
  const refused = await tokens.consume(created.token);
  t.false(refused.ok);
  if (!refused.ok) {
    t.is(refused.reason, 'expired-token');
    t.regex(refused.message, /expired at 2026-11-25T13:00:00.000Z/);
  }
});

test('max uses are enforced even when joins race', async (t) => {
  const { tokens } = await setup(t);
  const created = await tokens.create({ ttlSeconds: 3600, labels: {}, maxUses: 2, description: '' });
  const results = await Promise.all([1, 2, 3, 4].map(() => tokens.consume(created.token)));
  t.is(results.filter((r) => r.ok).length, 2);
  const refused = results.find((r) => !r.ok);
  t.is(refused && !refused.ok ? refused.reason : undefined, 'exhausted-token');
  t.is((await tokens.list())[0]?.state, 'exhausted');
});

test('revoked, unknown and wrong-secret tokens are refused', async (t) => {
  const { tokens } = await setup(t);
  const created = await tokens.create({ ttlSeconds: 3600, labels: {}, description: '' });
  const wrongSecret = `${created.id}.${'A'.repeat(32)}`;
  t.false(await tokens.known(wrongSecret));
  const wrong = await tokens.consume(wrongSecret);
  t.is(!wrong.ok ? wrong.reason : undefined, 'unknown-token');
  await tokens.revoke(created.id);
  const revoked = await tokens.consume(created.token);
  t.is(!revoked.ok ? revoked.reason : undefined, 'revoked-token');
  t.true(await tokens.known(created.token), 'still known, so the hub can explain the refusal');
});

test('device ids are readable slugs of the hostname', (t) => {
  t.is(deviceIdBase('RK3588-Line2.plant.local'), 'rk3588-line2-plant-local');
  t.is(deviceIdBase('___'), 'device');
  t.is(deviceIdBase('a'.repeat(80)).length, 40);
});
