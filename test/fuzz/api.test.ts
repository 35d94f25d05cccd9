import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import mqtt, { type MqttClient } from 'mqtt';
import { topics } from '../../src/protocol/index.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import type { RunningHub } from '../../src/hub/main.js';
import { openLowdbStore } from '../../src/hub/store/lowdb-store.js';
import { runPlacementPass } from '../../src/hub/workloads/placement-pass.js';
import { join } from 'node:path';
import { captureLog, registerTestDevice, startTestHub, type CapturedLog } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { fuzzRuns, fuzzSeed, labelKeyArb, labelsArb, manifestArb, nameArb } from './arbitraries.js';

/**
 * Property tests of the hub's HTTP API (issue 12): random ids, names, quantities, query strings
 * and bodies against a real in-process hub. After every case the hub must answer
 * `GET /v1/devices` with 200 and no request may get a 5xx; at the end the store on disk must
 * load without a warning and carry a placement pass.
 *
 * EDGEPILOT_FUZZ_SEED reproduces a run (every run prints its seed); EDGEPILOT_FUZZ_RUNS sets
 * the cases per property (default 150, which keeps the tier well under a minute).
 */
const seed = fuzzSeed;
const numRuns = fuzzRuns(150);

const ctx = {} as { hub: RunningHub; log: CapturedLog; dir: string; token: string; deviceIds: string[]; cases: number; statuses: Map<number, number>; clients: MqttClient[]; remove(): Promise<void> };

test.before(async () => {
  const tmp = await makeTempDir('ep-fuzz-api-');
  ctx.dir = tmp.path;
  ctx.log = captureLog();
  ctx.hub = await startTestHub(tmp.path, ctx.log.logger);
  ctx.token = ctx.hub.createdAdminToken ?? '';
  ctx.deviceIds = [];
  ctx.clients = [];
  // Online devices with facts, so that applied workloads go through real placement passes.
  for (let i = 0; i < 4; i++) {
    const device = await registerTestDevice(ctx.hub, `fuzz-board-${i}`, ctx.log.logger);
    ctx.deviceIds.push(device.deviceId);
    const client = await mqtt.connectAsync(ctx.hub.brokerUrl, { clientId: device.deviceId, username: device.deviceId, password: device.password, reconnectPeriod: 0 });
    client.on('error', () => undefined);
    ctx.clients.push(client);
    const status = { state: 'online', reason: 'connected', agentVersion: 'fuzz', bootId: 'b', sessionId: `s${i}`, since: new Date().toISOString() };
    await client.publishAsync(topics.status(device.deviceId), JSON.stringify(status), { qos: 1, retain: true });
    await client.publishAsync(topics.facts(device.deviceId), JSON.stringify(gatewayFacts({ hostname: `fuzz-board-${i}` })), { qos: 1, retain: true });
  }
  ctx.cases = 0;
  ctx.statuses = new Map();
  ctx.remove = async () => {
    for (const c of ctx.clients) c.end(true);
    await ctx.hub.close();
    await tmp.remove();
  };
});

test.after.always(async () => ctx.remove?.());

// ---- arbitraries -------------------------------------------------------------------------

const idArb = (): fc.Arbitrary<string> => fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...ctx.deviceIds) }, { weight: 5, arbitrary: nameArb });

/** JSON bodies: anything at all, or the right shape with random contents. */
const bodyFor: Record<string, () => fc.Arbitrary<unknown>> = {
  labels: () => fc.oneof(fc.jsonValue(), fc.record({ set: labelsArb, remove: fc.array(labelKeyArb, { maxLength: 3 }) }, { requiredKeys: [] })),
  tokens: () =>
    fc.oneof(
      fc.jsonValue(),
      fc.record(
        { ttlSeconds: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 4 })), maxUses: fc.oneof(fc.integer(), fc.constant(0)), labels: labelsArb, description: fc.string({ maxLength: 300 }) },
        { requiredKeys: [] },
      ),
    ),
  apply: () => fc.oneof({ weight: 1, arbitrary: fc.jsonValue() }, { weight: 4, arbitrary: fc.record({ manifests: fc.array(manifestArb, { maxLength: 3 }) }) }),
  restart: () => fc.oneof(fc.jsonValue(), fc.record({ device: idArb() }, { requiredKeys: [] })),
  flash: () => fc.oneof(fc.jsonValue(), fc.record({ image: fc.string({ maxLength: 20 }), force: fc.boolean() }, { requiredKeys: [] })),
  firmwareKeys: () => fc.oneof(fc.jsonValue(), fc.record({ publicKeyPem: fc.string({ maxLength: 100 }) })),
  firmware: () => fc.jsonValue(),
  apiTokens: () =>
    fc.oneof(
      fc.jsonValue(),
      fc.record({ name: fc.oneof(nameArb, fc.constant('admin')), role: fc.oneof(fc.constantFrom('admin', 'operator', 'viewer'), fc.string({ maxLength: 8 })), ttlSeconds: fc.oneof(fc.integer(), fc.double()) }, { requiredKeys: [] }),
    ),
  none: () => fc.constant(undefined),
};

/** Every route of the API with its parameters to fill (streaming ones are cut after the headers). */
const routes: [method: string, template: string, body: keyof typeof bodyFor][] = [
  ['GET', '/v1/devices/:id', 'none'],
  ['DELETE', '/v1/devices/:id', 'none'],
  ['POST', '/v1/devices/:id/cordon', 'none'],
  ['POST', '/v1/devices/:id/uncordon', 'none'],
  ['POST', '/v1/devices/:id/drain', 'none'],
  ['PATCH', '/v1/devices/:id/labels', 'labels'],
  ['GET', '/v1/workloads/:name', 'none'],
  ['DELETE', '/v1/workloads/:name', 'none'],
  ['POST', '/v1/workloads/:name/restart', 'restart'],
  ['GET', '/v1/workloads/:name/logs', 'none'],
  ['DELETE', '/v1/tokens/:name', 'none'],
  ['GET', '/v1/mcus/:id/:name/telemetry', 'none'],
  ['POST', '/v1/mcus/:id/:name/flash', 'flash'],
  ['POST', '/v1/apply', 'apply'],
  ['POST', '/v1/tokens', 'tokens'],
  ['POST', '/v1/firmware/keys', 'firmwareKeys'],
  ['POST', '/v1/firmware', 'firmware'],
  ['GET', '/v1/devices', 'none'],
  ['GET', '/v1/workloads', 'none'],
  ['GET', '/v1/tokens', 'none'],
  ['GET', '/v1/mcus', 'none'],
  ['POST', '/v1/api-tokens', 'apiTokens'],
  ['DELETE', '/v1/api-tokens/:name', 'none'],
  ['GET', '/v1/api-tokens', 'none'],
  ['GET', '/v1/audit', 'none'],
  ['GET', '/v1/services', 'none'],
  ['GET', '/v1/services/:name', 'none'],
  ['DELETE', '/v1/services/:name', 'none'],
  ['GET', '/v1/configmaps', 'none'],
  ['GET', '/v1/configmaps/:name', 'none'],
  ['DELETE', '/v1/configmaps/:name', 'none'],
  ['GET', '/v1/secrets', 'none'],
  ['GET', '/v1/secrets/:name', 'none'],
  ['DELETE', '/v1/secrets/:name', 'none'],
];

const queryArb = fc.dictionary(
  fc.constantFrom('selector', 'watch', 'tail', 'follow', 'device', 'sha256', 'showValues', '__proto__', 'constructor'),
  fc.oneof(fc.constantFrom('false', 'true', '-1', 'zone=a', 'zone in (a,b)', '!x', '__proto__', '\u0000', 'a'.repeat(5000)), fc.string({ maxLength: 20 })),
  { maxKeys: 3 },
);

// ---- the checks -------------------------------------------------------------------------

async function send(method: string, path: string, body?: unknown, raw?: string): Promise<number> {
  const payload = raw ?? (body === undefined ? undefined : JSON.stringify(body));
  const response = await fetch(`${ctx.hub.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ctx.token}`, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(payload !== undefined ? { body: payload } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  // Streams (watch, logs, telemetry) answer headers first; the status is all a case needs.
  await response.body?.cancel();
  return response.status;
}

/** One case: the request gets no 5xx, and the hub still lists its devices. */
async function runCase(t: ExecutionContext, method: string, path: string, body?: unknown, raw?: string): Promise<boolean> {
  ctx.cases += 1;
  const status = await send(method, path, body, raw);
  ctx.statuses.set(status, (ctx.statuses.get(status) ?? 0) + 1);
  if (status >= 500) {
    t.log(`${method} ${path.slice(0, 200)} → ${status}; body ${JSON.stringify(body)?.slice(0, 500)}`);
    return false;
  }
  const list = await send('GET', '/v1/devices');
  if (list !== 200) t.log(`after ${method} ${path.slice(0, 200)}: GET /v1/devices → ${list}`);
  return list === 200;
}

/** The first device is never deleted, so that the store keeps a device to place on to the end. */
function spareKeeper(method: string, template: string, id: string): string {
  return method === 'DELETE' && template === '/v1/devices/:id' && id === ctx.deviceIds[0] ? `${id}-x` : id;
}

function fill(template: string, id: string, name: string): string {
  return template.replace(':id', encodeURIComponent(id)).replace(':name', encodeURIComponent(name));
}

function toQuery(query: Record<string, string>): string {
  const entries = Object.entries(query);
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries).toString()}`;
}

const params = { seed, numRuns, endOnFailure: true } as const;

test.serial('random ids and names in every path, with random query strings', async (t) => {
  t.log(`seed ${seed} (EDGEPILOT_FUZZ_SEED=${seed} reproduces), ${numRuns} runs per property`);
  const before = ctx.cases;
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...routes), idArb(), nameArb, queryArb, async ([method, template], id, name, query) =>
      runCase(t, method, `${fill(template, spareKeeper(method, template, id), name)}${toQuery(query)}`),
    ),
    params,
  );
  t.log(`${ctx.cases - before} cases`);
  t.pass();
});

test.serial('random bodies for every write route', async (t) => {
  const before = ctx.cases;
  const writeRoutes = routes.filter(([, , body]) => body !== 'none');
  const caseArb = fc.constantFrom(...writeRoutes).chain(([method, template, body]) =>
    fc.tuple(fc.constant(method), fc.constant(template), idArb(), nameArb, bodyFor[body]?.() ?? fc.constant(undefined), fc.option(fc.constantFrom('{', 'null', '[]', '"x"', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}'), { freq: 8 })),
  );
  await fc.assert(fc.asyncProperty(caseArb, async ([method, template, id, name, body, raw]) => runCase(t, method, fill(template, spareKeeper(method, template, id), name), body, raw ?? undefined)), params);
  // Once each: a body over the size limit, and deep nesting.
  t.true(await runCase(t, 'POST', '/v1/apply', undefined, `{"manifests":["${'x'.repeat(10 * 1024 * 1024)}"]}`));
  t.true(await runCase(t, 'POST', '/v1/apply', undefined, `${'['.repeat(5000)}${']'.repeat(5000)}`));
  t.log(`${ctx.cases - before} cases`);
});

test.serial('random manifests: names, quantities, replicas', async (t) => {
  const before = ctx.cases;
  await fc.assert(
    fc.asyncProperty(fc.array(manifestArb, { minLength: 1, maxLength: 4 }), fc.boolean(), async (manifests, thenDelete) => {
      if (!(await runCase(t, 'POST', '/v1/apply', { manifests }))) return false;
      if (!thenDelete) return true;
      const name = manifests[0]?.metadata.name ?? '';
      return runCase(t, 'DELETE', `/v1/workloads/${encodeURIComponent(name)}`);
    }),
    params,
  );
  t.log(`${ctx.cases - before} cases`);
  t.pass();
});

test.serial('afterwards the store on disk loads cleanly and carries a placement pass', async (t) => {
  t.false(ctx.log.has(/internal error|DataCloneError|TypeError/), 'no internal error in the hub log');
  await ctx.hub.close();
  const warnings: string[] = [];
  const store = await openLowdbStore(join(ctx.dir, 'hub'), (m) => warnings.push(m));
  t.deepEqual(warnings, []);
  t.true((await store.devices.list()).some((d) => d.id === ctx.deviceIds[0]), 'the kept device is still there');
  const [devices, workloads, placements, published] = await Promise.all([store.devices.list(), store.workloads.list(), store.placements.list(), store.deviceState.allDesired()]);
  t.notThrows(() => runPlacementPass({ now: Date.now(), devices, workloads, placements: new Map(placements.map((p) => [p.workload, p])), published, ready: new Set() }));
  await store.close();
  t.log(`${ctx.cases} cases in all (seed ${seed}); ${workloads.length} workloads, ${placements.length} placements and ${devices.length} devices left in the store`);
  t.log(`answers: ${[...ctx.statuses].sort(([a], [b]) => a - b).map(([status, n]) => `${status}×${n}`).join(' ')}`);
});
