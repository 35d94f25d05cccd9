import test from 'ava';
import Fastify from 'fastify';
import { hashSecret } from '../../../src/common/ids.js';
import { createLogger } from '../../../src/common/log.js';
import { installAccessControl } from '../../../src/hub/api/roles/access-control.js';
import type { AuditEntry } from '../../../src/protocol/index.js';

/**
 * The API answers a write only after its audit entry is appended (the real log's append
 * resolves after fdatasync, test/unit/hub/audit-log.test.ts). Here the append is held open:
 * the answer must wait for it.
 */
test('a write is not answered before its audit entry is durable; a read does not wait', async (t) => {
  const appended: AuditEntry[] = [];
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const app = Fastify();
  installAccessControl(app, {
    adminTokenHash: hashSecret('secret'),
    audit: {
      append: async (entry) => {
        appended.push(entry);
        await held;
      },
    },
    now: () => new Date('2026-11-30T12:00:00Z'),
    log: createLogger('test', 'error', () => undefined),
  });
  // Not in the policy table: admin may call it (and the test owns no other route).
  app.post('/v1/things/:name', async () => ({ ok: true }));
  app.get('/v1/things', async () => ({ items: [] }));
  await app.ready();
  t.teardown(() => app.close());

  const headers = { authorization: 'Bearer secret' };
  const read = await app.inject({ method: 'GET', url: '/v1/things', headers });
  t.is(read.statusCode, 200);
  t.is(appended.length, 0, 'reads are not audited');

  let answered = false;
  const write = app.inject({ method: 'POST', url: '/v1/things/lamp', headers }).then((r) => {
    answered = true;
    return r;
  });
  for (let i = 0; i < 20 && appended.length === 0; i++) await new Promise((r) => setImmediate(r));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  t.is(appended.length, 1);
  t.false(answered, 'no answer while the audit append is pending');
  release();
  const response = await write;
  t.is(response.statusCode, 200);
  t.like(appended[0], { who: 'admin', role: 'admin', method: 'POST', route: '/v1/things/:name', object: 'name=lamp', status: 200 });

  const refused = await app.inject({ method: 'POST', url: '/v1/things/lamp', headers: { authorization: 'Bearer wrong' } });
  t.is(refused.statusCode, 401);
  t.is(appended.length, 1, 'a request without a valid token is not audited');
});
