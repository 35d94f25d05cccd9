import test from 'ava';
import { join } from 'node:path';
import type { RunningHub } from '../../src/hub/main.js';
import { openLowdbStore } from '../../src/hub/store/lowdb-store.js';
import { isolatedEnv } from '../support/fleet.js';
import { captureLog, registerTestDevice, startTestHub, type CapturedLog } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { runCli, type CliResult } from '../support/processes.js';

/**
 * Issue 12, "Broken 2" and the "Weak" items: reserved and malformed names at the API edge,
 * through the HTTP API and the CLI of a real in-process hub.
 */
const ctx = {} as { hub: RunningHub; log: CapturedLog; dir: string; token: string; deviceId: string; remove(): Promise<void> };

test.before(async () => {
  const tmp = await makeTempDir('ep-api-names-');
  ctx.dir = tmp.path;
  ctx.log = captureLog();
  ctx.hub = await startTestHub(tmp.path, ctx.log.logger);
  ctx.token = ctx.hub.createdAdminToken ?? '';
  ctx.deviceId = (await registerTestDevice(ctx.hub, 'names-board-1', ctx.log.logger)).deviceId;
  ctx.remove = async () => {
    await ctx.hub.close();
    await tmp.remove();
  };
});

test.after.always(async () => ctx.remove?.());

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: { error?: string; message?: string; items?: unknown[]; events?: unknown[]; name?: string } }> {
  const response = await fetch(`${ctx.hub.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ctx.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, json: (await response.json()) as never };
}

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, { ...isolatedEnv(ctx.dir), EDGEPILOT_HUB: ctx.hub.apiUrl, EDGEPILOT_TOKEN: ctx.token });
}

async function hubStillAnswers(t: { is(a: unknown, b: unknown, m?: string): void }): Promise<void> {
  const list = await api('GET', '/v1/devices');
  t.is(list.status, 200, 'get devices still answers');
}

const badIds = ['__proto__', 'Constructor', '', '%00', 'a%00b', '%E2%80%AEevil', 'ümlaut', 'x'.repeat(64), 'x'.repeat(1500), 'a.b', 'a%2Fb'];

test.serial('cordon __proto__ answers 400 naming the parameter, writes nothing, and the hub keeps working (issue 12)', async (t) => {
  const r = await api('POST', '/v1/devices/__proto__/cordon');
  t.is(r.status, 400);
  t.is(r.json.error, 'BadRequest');
  t.regex(r.json.message ?? '', /^id: "__proto__" is not a valid device id \(lowercase letters, digits and -/);
  await hubStillAnswers(t);
  const list = await api('GET', '/v1/devices');
  t.deepEqual((list.json.items as { id: string }[]).map((d) => d.id), [ctx.deviceId]);
  const cordon = await cli(['cordon', '__proto__']);
  t.is(cordon.code, 1);
  t.regex(cordon.stderr, /id: "__proto__" is not a valid device id/);
});

test.serial('every device route refuses malformed ids with 400, and well-formed absent ones with 404', async (t) => {
  for (const id of badIds) {
    for (const [method, suffix] of [['GET', ''], ['DELETE', ''], ['POST', '/cordon'], ['POST', '/uncordon'], ['POST', '/drain'], ['PATCH', '/labels']] as const) {
      const r = await api(method, `/v1/devices/${id}${suffix}`, method === 'PATCH' ? { set: { a: 'b' } } : undefined);
      t.is(r.status, 400, `${method} /v1/devices/${id.slice(0, 20)}${suffix}: ${r.json.message ?? ''}`);
      t.regex(r.json.message ?? '', /^id: /);
    }
  }
  for (const id of ['constructor', 'prototype', 'tostring', 'hasownproperty', 'valueof']) {
    const r = await api('GET', `/v1/devices/${id}`);
    t.is(r.status, 404, `GET ${id}`);
    t.is(r.json.message, `device ${id} not found`);
    t.is((await api('POST', `/v1/devices/${id}/cordon`)).status, 404);
  }
  await hubStillAnswers(t);
});

test.serial('workload, token, MCU and log routes check their names too', async (t) => {
  for (const [method, path, param] of [
    ['GET', '/v1/workloads/__proto__', 'name'],
    ['DELETE', '/v1/workloads/toString', 'name'],
    ['POST', '/v1/workloads/__proto__/restart', 'name'],
    ['GET', '/v1/workloads/%E2%80%AE/logs', 'name'],
    ['DELETE', '/v1/tokens/__proto__', 'id'],
    ['GET', '/v1/mcus/__proto__/x/telemetry', 'gateway'],
    ['GET', `/v1/mcus/${ctx.deviceId}/__proto__/telemetry`, 'mcu'],
    ['POST', '/v1/mcus/__proto__/x/flash', 'gateway'],
  ] as const) {
    const r = await api(method, path, method === 'POST' ? {} : undefined);
    t.is(r.status, 400, `${method} ${path}`);
    t.true((r.json.message ?? '').startsWith(`${param}: `), `${method} ${path}: ${r.json.message ?? ''}`);
  }
  // A bad name is named for the kind of the route, not always "workload".
  for (const [path, kind] of [
    ['/v1/workloads/__proto__', 'workload'],
    ['/v1/jobs/__proto__', 'job'],
    ['/v1/cronjobs/__proto__', 'cronjob'],
    ['/v1/services/__proto__', 'service'],
    ['/v1/configmaps/__proto__', 'configmap'],
    ['/v1/secrets/__proto__', 'secret'],
  ] as const) {
    const r = await api('GET', path);
    t.is(r.status, 400, path);
    t.regex(r.json.message ?? '', new RegExp(`^name: "__proto__" is not a valid ${kind} name \\(`), path);
  }
  t.is((await api('GET', '/v1/workloads/constructor')).status, 404);
  t.is((await api('DELETE', '/v1/tokens/constructor')).status, 404);
  const logs = await api('GET', '/v1/workloads/constructor/logs?device=__proto__');
  t.is(logs.status, 400);
  const selector = await api('GET', '/v1/devices?selector=a%00b');
  t.is(selector.status, 400);
  t.regex(selector.json.message ?? '', /^selector: /);
  await hubStillAnswers(t);
});

test.serial('10 MB ids and bodies are refused cleanly', async (t) => {
  const huge = 'a'.repeat(10 * 1024 * 1024);
  const path = await fetch(`${ctx.hub.apiUrl}/v1/devices/${huge}`, { headers: { authorization: `Bearer ${ctx.token}` } });
  t.is(path.status, 431, 'the request line is over the HTTP server limit');
  const body = await api('PATCH', `/v1/devices/${ctx.deviceId}/labels`, { set: { big: huge } });
  t.is(body.status, 413);
  const label = await api('PATCH', `/v1/devices/${ctx.deviceId}/labels`, { set: { big: 'a'.repeat(100_000) } });
  t.is(label.status, 400);
  t.regex(label.json.message ?? '', /^body: set\.big: invalid label value/);
  await hubStillAnswers(t);
});

const manifest = (name: string) => ({ apiVersion: 'edgepilot.io/v1', kind: 'Workload', metadata: { name }, spec: { replicas: 1, template: { runtime: 'process', command: ['/bin/true'] } } });

test.serial('a workload named constructor is an ordinary workload (it was a 500 DataCloneError)', async (t) => {
  const applied = await api('POST', '/v1/apply', { manifests: [manifest('constructor')] });
  t.is(applied.status, 200, applied.json.message);
  const got = await api('GET', '/v1/workloads/constructor');
  t.is(got.status, 200, got.json.message);
  t.is(got.json.name, 'constructor');
  t.is((await api('DELETE', '/v1/workloads/constructor')).status, 200);
  t.false(ctx.log.has(/DataCloneError/));
});

test.serial('events of a deleted workload do not reappear on a new one of the same name', async (t) => {
  await api('POST', '/v1/apply', { manifests: [manifest('reborn')] });
  const first = await api('GET', '/v1/workloads/reborn');
  t.true((first.json.events ?? []).length > 0, 'the first one has events');
  t.is((await api('DELETE', '/v1/workloads/reborn')).status, 200);
  await api('POST', '/v1/apply', { manifests: [manifest('reborn')] });
  const second = await api('GET', '/v1/workloads/reborn');
  const messages = (second.json.events as { reason: string }[]).map((e) => e.reason);
  t.is(messages.filter((r) => r === 'Created').length, 1, `events: ${messages.join(', ')}`);
  await api('DELETE', '/v1/workloads/reborn');
});

test.serial('label device X nope- on a missing key fails like kubectl, and changes nothing', async (t) => {
  const result = await cli(['label', 'device', ctx.deviceId, 'role=cam', 'nope-']);
  t.is(result.code, 1);
  t.is(result.stderr.trim(), `error: label "nope" not found on device ${ctx.deviceId}`);
  const device = await api('GET', `/v1/devices/${ctx.deviceId}`);
  t.is((device.json as { labels?: Record<string, string> }).labels?.['role'], undefined, 'role=cam was not set either');
  t.is((await cli(['label', 'device', ctx.deviceId, 'constructor=x'])).code, 0, 'a label key like constructor is no clash');
  t.is((await cli(['label', 'device', ctx.deviceId, 'constructor-'])).code, 0);
});

test.serial('token create names its flags, not the API fields', async (t) => {
  const short = await cli(['token', 'create', '--ttl', '1s']);
  t.is(short.code, 1);
  t.is(short.stderr.trim(), 'error: --ttl: must be at least 1m (got 1s)');
  t.notRegex(short.stderr, /ttlSeconds/);
  const long = await cli(['token', 'create', '--ttl', '400d']);
  t.is(long.stderr.trim(), 'error: --ttl: must be at most 365d (got 400d)');
  const garbled = await cli(['token', 'create', '--ttl', 'soon']);
  t.regex(garbled.stderr.trim(), /^error: --ttl: "soon" is not a duration/);
  const uses = await cli(['token', 'create', '--max-uses', '2000000']);
  t.is(uses.stderr.trim(), 'error: --max-uses: must be at most 1000000 (got 2000000)');
  const zero = await cli(['token', 'create', '--max-uses', '0']);
  t.regex(zero.stderr.trim(), /--max-uses must be a positive integer/);
});

test.serial('after all of it the store on disk loads without a warning', async (t) => {
  const warnings: string[] = [];
  // The hub keeps writing; a second reader of the files sees the last durable state.
  const store = await openLowdbStore(join(ctx.dir, 'hub'), (m) => warnings.push(m));
  t.deepEqual((await store.devices.list()).map((d) => d.id), [ctx.deviceId]);
  t.deepEqual(warnings, []);
  await store.close();
});
