// Roles, people's API tokens and the audit log (issue 13) against a real hub: each role refused
// on real routes, audit entries for writes and none for reads, both surviving a restart.
// Serial: the audit assertions count entries the other tests make.
import test from 'ava';
import { join } from 'node:path';
import type { RunningHub } from '../../src/hub/main.js';
import { routeAccess } from '../../src/hub/api/roles/policy.js';
import type { AuditEntry } from '../../src/protocol/index.js';
import { captureLog, registerTestDevice, startTestHub, type CapturedLog } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { runCli } from '../support/processes.js';

const ctx = {} as { hub: RunningHub; root: string; log: CapturedLog; admin: string; viewer: string; operator: string; deviceId: string; remove(): Promise<void> };

interface Answer {
  status: number;
  body: { error?: string; message?: string; items?: unknown[] } & Record<string, unknown>;
}

async function call(token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${ctx.hub.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Answer['body'] };
}

async function auditEntries(query = ''): Promise<AuditEntry[]> {
  const answer = await call(ctx.admin, 'GET', `/v1/audit${query}`);
  return answer.body.items as AuditEntry[];
}

function workload(name: string): unknown {
  return { apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name }, spec: { replicas: 1, template: { runtime: 'process', command: ['sleep', '1000'] } } };
}

test.before(async () => {
  const tmp = await makeTempDir('ep-roles-');
  ctx.root = tmp.path;
  ctx.log = captureLog();
  ctx.hub = await startTestHub(tmp.path, ctx.log.logger);
  ctx.admin = ctx.hub.createdAdminToken ?? '';
  ctx.deviceId = (await registerTestDevice(ctx.hub, 'roles-board', ctx.log.logger)).deviceId;
  const make = async (name: string, role: string): Promise<string> => {
    const created = await call(ctx.admin, 'POST', '/v1/api-tokens', { name, role });
    if (created.status !== 201) throw new Error(`creating ${name}: ${created.status} ${JSON.stringify(created.body)}`);
    return created.body['token'] as string;
  };
  ctx.viewer = await make('vera', 'viewer');
  ctx.operator = await make('otto', 'operator');
  ctx.remove = async () => {
    await ctx.hub.close();
    await tmp.remove();
  };
});

test.after.always(async () => ctx.remove?.());

test.serial('every registered API route has an entry in the access policy', (t) => {
  t.true(ctx.hub.apiRoutes.length > 40);
  const missing = ctx.hub.apiRoutes.filter((r) => {
    const [method = '', route = ''] = r.split(' ');
    return routeAccess(method, route) === undefined;
  });
  t.deepEqual(missing, [], `add these routes to routePolicy in src/hub/api/roles/policy.ts: ${missing.join(', ')}`);
});

test.serial('a viewer reads the fleet and is refused every change, with 403 naming role and permission', async (t) => {
  t.is((await call(ctx.viewer, 'GET', '/v1/devices')).status, 200);
  t.is((await call(ctx.viewer, 'GET', '/v1/workloads')).status, 200);
  const refusals: [string, string, unknown?][] = [
    ['POST', '/v1/apply', { manifests: [workload('viewer-web')] }],
    ['DELETE', '/v1/workloads/anything'],
    ['POST', `/v1/devices/${ctx.deviceId}/cordon`],
    ['POST', '/v1/rollouts/r1/commands', { type: 'pause' }],
    ['POST', '/v1/mcus/gw/m0/flash', {}],
    ['POST', '/v1/tokens', {}],
    ['GET', '/v1/tokens'],
    ['GET', '/v1/audit'],
  ];
  for (const [method, path, body] of refusals) {
    const answer = await call(ctx.viewer, method, path, body);
    t.is(answer.status, 403, `${method} ${path}`);
    t.is(answer.body.error, 'Forbidden');
    t.regex(answer.body.message ?? '', /^vera: role viewer may not/);
  }
  t.is((await call(ctx.admin, 'GET', '/v1/workloads/viewer-web')).status, 404, 'the refused apply stored nothing');
  // Firmware downloads check their own credentials: a person's token reads them, no token does not.
  const manifest = `/v1/firmware/manifest?sha256=${'0'.repeat(64)}`;
  t.is((await call(ctx.viewer, 'GET', manifest)).status, 404);
  t.is((await call('epu_nobody_x', 'GET', manifest)).status, 401);
});

test.serial('an operator applies, cordons and deletes, but may not manage tokens, keys or device identities', async (t) => {
  t.is((await call(ctx.operator, 'POST', '/v1/apply', { manifests: [workload('otto-web')] })).status, 200);
  t.is((await call(ctx.operator, 'POST', `/v1/devices/${ctx.deviceId}/cordon`)).status, 200);
  t.is((await call(ctx.operator, 'POST', `/v1/devices/${ctx.deviceId}/uncordon`)).status, 200);
  t.is((await call(ctx.operator, 'DELETE', '/v1/workloads/otto-web')).status, 200);
  for (const [method, path, body] of [
    ['POST', '/v1/api-tokens', { name: 'mallory', role: 'admin' }],
    ['POST', '/v1/tokens', {}],
    ['DELETE', `/v1/devices/${ctx.deviceId}`],
    ['POST', `/v1/devices/${ctx.deviceId}/approve`],
    ['POST', '/v1/firmware/keys', {}],
    ['GET', '/v1/audit'],
  ] as [string, string, unknown?][]) {
    const answer = await call(ctx.operator, method, path, body);
    t.is(answer.status, 403, `${method} ${path}`);
    t.regex(answer.body.message ?? '', /otto: role operator may not .*held by admin/);
  }
  t.is((await call(ctx.admin, 'GET', `/v1/devices/${ctx.deviceId}`)).status, 200, 'the device was not deleted');
});

test.serial('wrong, unknown-name and revoked tokens get 401; a name cannot be reissued while valid', async (t) => {
  const temp = await call(ctx.admin, 'POST', '/v1/api-tokens', { name: 'tess', role: 'operator' });
  const token = temp.body['token'] as string;
  t.is((await call(token, 'GET', '/v1/devices')).status, 200);
  t.is((await call(ctx.admin, 'POST', '/v1/api-tokens', { name: 'tess', role: 'viewer' })).status, 409);
  t.is((await call(ctx.admin, 'POST', '/v1/api-tokens', { name: 'admin', role: 'viewer' })).status, 400);
  t.is((await call(`${token.slice(0, -2)}xx`, 'GET', '/v1/devices')).status, 401);
  t.is((await call(token.replace('tess', 'vera'), 'GET', '/v1/devices')).status, 401);
  t.is((await call(ctx.admin, 'DELETE', '/v1/api-tokens/tess')).status, 200);
  const revoked = await call(token, 'GET', '/v1/devices');
  t.is(revoked.status, 401);
  t.regex(revoked.body.message ?? '', /revoked/);
  const list = (await call(ctx.admin, 'GET', '/v1/api-tokens')).body.items as { name: string; state: string }[];
  t.deepEqual(list.map((x) => `${x.name}:${x.state}`), ['otto:valid', 'tess:revoked', 'vera:valid']);
  // The whole secret (base64url: it may hold `_` itself, and a short piece after one is found anywhere).
  t.false(JSON.stringify(list).includes(token.slice('epu_tess_'.length)), 'the secret is never listed');
});

test.serial('the audit log has every write (who, what, result) and no reads; it survives a restart, as do the tokens', async (t) => {
  const before = await auditEntries();
  await call(ctx.operator, 'GET', '/v1/workloads');
  await call(ctx.viewer, 'GET', '/v1/devices');
  t.is((await auditEntries()).length, before.length, 'reads are not recorded');
  await call(ctx.operator, 'POST', '/v1/apply', { manifests: [workload('audited')] });
  await call(ctx.viewer, 'DELETE', '/v1/workloads/audited');
  const entries = await auditEntries('?since=' + encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString()));
  const applied = entries.find((e) => e.object === 'Workload/audited');
  t.like(applied, { who: 'otto', role: 'operator', method: 'POST', route: '/v1/apply', status: 200 });
  t.like(entries.find((e) => e.who === 'vera' && e.object === 'name=audited'), { method: 'DELETE', route: '/v1/workloads/:name', object: 'name=audited', status: 403 });
  t.true(entries.every((e) => e.method !== 'GET'));
  t.true((await auditEntries('?who=vera')).every((e) => e.who === 'vera'));
  t.true(entries.some((e) => e.who === 'admin' && e.route === '/v1/api-tokens' && e.status === 201));

  await ctx.hub.close();
  ctx.hub = await startTestHub(ctx.root, ctx.log.logger);
  const after = await auditEntries();
  t.true(after.length >= entries.length && after.some((e) => e.object === 'Workload/audited' && e.who === 'otto'));
  t.is((await call(ctx.operator, 'GET', '/v1/devices')).status, 200, "a person's token works after the restart");
  t.is((await call(ctx.viewer, 'POST', '/v1/apply', { manifests: [workload('x')] })).status, 403, 'and keeps its role');
});

test.serial('the CLI: token create --role, token list --kind api, audit with filters, one-line refusals', async (t) => {
  const env = { XDG_CONFIG_HOME: join(ctx.root, 'cli-config'), EDGEPILOT_HUB: ctx.hub.apiUrl, EDGEPILOT_TOKEN: ctx.admin };
  const created = await runCli(['token', 'create', '--role', 'viewer', '--name', 'cli-viewer'], env);
  t.is(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  t.regex(token, /^epu_cli-viewer_/);
  const listed = await runCli(['token', 'list', '--kind', 'api'], env);
  t.regex(listed.stdout, /cli-viewer\s+viewer\s+valid/);
  const refused = await runCli(['cordon', ctx.deviceId], { ...env, EDGEPILOT_TOKEN: token });
  t.is(refused.code, 1);
  t.is(refused.stderr.trim().split('\n').length, 1);
  t.regex(refused.stderr, /cli-viewer: role viewer may not/);
  const audit = await runCli(['audit', '--who', 'cli-viewer', '--since', '1h'], env);
  t.is(audit.code, 0, audit.stderr);
  t.regex(audit.stdout, /cli-viewer\s+viewer\s+POST\s+\/v1\/devices\/:id\/cordon\s+id=\S+\s+403/);
  const asJson = JSON.parse((await runCli(['audit', '-o', 'json', '--who', 'admin'], env)).stdout) as { items: AuditEntry[] };
  t.true(asJson.items.some((e) => e.route === '/v1/api-tokens' && e.object.includes('name=cli-viewer')));
  const bad = await runCli(['token', 'create', '--role', 'root', '--name', 'x'], env);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /--role: must be one of admin, operator, viewer/);
  const revoke = await runCli(['token', 'revoke', '--name', 'cli-viewer'], env);
  t.is(revoke.stdout.trim(), 'apitoken/cli-viewer revoked');
});
