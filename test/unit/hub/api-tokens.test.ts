import test, { type ExecutionContext } from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { API_TOKENS_STALE_MS, ApiTokenError, ApiTokens } from '../../../src/hub/api/roles/api-tokens.js';
import type { ApiTokenRecord, ApiTokenRepository } from '../../../src/hub/store/api-token-records.js';
import { makeTempDir } from '../../support/paths.js';

async function setup(t: ExecutionContext) {
  const dir = await makeTempDir('ep-apitokens-');
  t.teardown(() => dir.remove());
  let now = new Date('2026-11-30T12:00:00Z');
  const path = join(dir.path, 'api-tokens.json');
  const clock = (): Date => now;
  return { path, clock, tokens: await ApiTokens.open(path, clock), advance: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

test('a token identifies its person and role until it expires; only its hash is on disk', async (t) => {
  const { path, tokens, advance } = await setup(t);
  const created = await tokens.create({ name: 'alice', role: 'operator', ttlSeconds: 3600, description: '' }, 'admin');
  t.deepEqual(tokens.identify(created.token), { name: 'alice', role: 'operator' });
  const secret = created.token.slice('epu_alice_'.length);
  t.false((await readFile(path, 'utf8')).includes(secret));
  advance(3_600_000);
  t.is(tokens.identify(created.token), undefined);
  t.is(tokens.list()[0]?.state, 'expired');
});

test('revoked at once, kept durably across a reopen; a revoked name may be issued again with a new secret', async (t) => {
  const { path, clock, tokens } = await setup(t);
  const first = await tokens.create({ name: 'bob', role: 'viewer', description: '' }, 'admin');
  await t.throwsAsync(tokens.create({ name: 'bob', role: 'admin', description: '' }, 'admin'), { instanceOf: ApiTokenError, message: /a valid token named bob exists/ });
  await tokens.revoke('bob');
  t.is(tokens.identify(first.token), undefined);
  await t.throwsAsync(tokens.revoke('bob'), { instanceOf: ApiTokenError, message: /already revoked/ });
  const reopened = await ApiTokens.open(path, clock);
  t.is(reopened.identify(first.token), undefined);
  t.is(reopened.list()[0]?.state, 'revoked');
  const second = await reopened.create({ name: 'bob', role: 'admin', description: '' }, 'admin');
  t.deepEqual(reopened.identify(second.token), { name: 'bob', role: 'admin' });
  t.is(reopened.identify(first.token), undefined);
});

test('concurrent creations are all kept; the name admin is reserved; a damaged file is refused by name', async (t) => {
  const { path, clock, tokens } = await setup(t);
  await Promise.all(['a1', 'a2', 'a3', 'a4'].map((name) => tokens.create({ name, role: 'viewer', description: '' }, 'admin')));
  t.deepEqual((await ApiTokens.open(path, clock)).list().map((x) => x.name), ['a1', 'a2', 'a3', 'a4']);
  await t.throwsAsync(tokens.create({ name: 'admin', role: 'viewer', description: '' }, 'admin'), { instanceOf: ApiTokenError });
  await writeFile(path, '{"tokens":[{"name":"x"}]}');
  await t.throwsAsync(ApiTokens.open(path, clock), { message: /api-tokens.json is damaged/ });
  await writeFile(path, '{"tok');
  await t.throwsAsync(ApiTokens.open(path, clock), { message: /api-tokens.json is damaged/ });
});

test('kept in a shared store: a copy the store has not confirmed for API_TOKENS_STALE_MS is not trusted; trusted again once read', async (t) => {
  let now = new Date('2026-11-30T12:00:00Z');
  const clock = (): Date => now;
  const records = new Map<string, ApiTokenRecord>();
  let answering = true;
  const shared: ApiTokenRepository = {
    shared: true,
    list: async () => {
      if (!answering) throw new Error('store down');
      return [...records.values()];
    },
    change: async (name, change) => {
      const next = change(records.get(name));
      records.set(name, next);
      return next;
    },
  };
  const logs: string[] = [];
  const tokens = await ApiTokens.open(shared, clock, (m) => logs.push(m));
  t.teardown(() => tokens.close());
  const created = await tokens.create({ name: 'erin', role: 'viewer', description: '' }, 'admin');
  t.truthy(tokens.identify(created.token));
  answering = false;
  now = new Date(now.getTime() + API_TOKENS_STALE_MS - 1000);
  await t.throwsAsync(tokens.refresh());
  t.truthy(tokens.identify(created.token), 'within the bound, the copy is used');
  now = new Date(now.getTime() + 2000);
  await t.throwsAsync(tokens.refresh());
  t.is(tokens.identify(created.token), undefined, 'past it, refused');
  t.true(logs.some((l) => /refused until it does/.test(l)));
  answering = true;
  await tokens.refresh();
  t.truthy(tokens.identify(created.token));
});
