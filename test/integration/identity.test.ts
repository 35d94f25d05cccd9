import test from 'ava';
import mqtt from 'mqtt';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultAgentConfig } from '../../src/device-agent/config.js';
import { generateDeviceKey } from '../../src/device-agent/identity/device-key.js';
import { enroll } from '../../src/device-agent/identity/enroll.js';
import { JoinRefusedError, joinFleet, signedJoinRequest } from '../../src/device-agent/identity/join.js';
import { loadIdentity, saveIdentity } from '../../src/device-agent/identity/identity-file.js';
import { credentialsRefusedHint, rejoinWithKey } from '../../src/device-agent/identity/rejoin.js';
import { startAgent, type RunningAgent } from '../../src/device-agent/main.js';
import { DeviceSession } from '../../src/device-agent/session/device-session.js';
import type { RunningHub } from '../../src/hub/main.js';
import { JOIN_USERNAME, deviceDetailSchema, deviceViewSchema, joinClientId, joinResponseSchema, listSchema, topics, type JoinResponse } from '../../src/protocol/index.js';
import { gatewayFacts } from '../support/facts-fixture.js';
import { captureLog, registerTestDevice, startTestHub, type CapturedLog } from '../support/in-process-hub.js';
import { makeTempDir } from '../support/paths.js';
import { isolatedEnv } from '../support/fleet.js';
import { runCli } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

/** Issue 12, "Broken 3" and "Broken 4": a device's identity is its key, not its hardware id plus any join token. */
interface Context {
  dir: string;
  hub: RunningHub;
  log: CapturedLog;
  cleanup: () => Promise<void>;
}
const ctx = {} as Context;

test.before(async () => {
  const dir = await makeTempDir('ep-identity-');
  ctx.dir = dir.path;
  ctx.log = captureLog();
  ctx.hub = await startTestHub(dir.path, ctx.log.logger);
  ctx.cleanup = async () => {
    await ctx.hub.close();
    await dir.remove();
  };
});
test.after.always(async () => ctx.cleanup?.());

async function api(method: string, path: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${ctx.hub.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${ctx.hub.createdAdminToken ?? ''}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: response.status, body: await response.json() };
}
const device = async (id: string) => deviceDetailSchema.parse((await api('GET', `/v1/devices/${id}`)).body);
const devices = async () => listSchema(deviceViewSchema).parse((await api('GET', '/v1/devices')).body).items;

async function credentialsWork(deviceId: string, password: string): Promise<boolean> {
  try {
    const client = await mqtt.connectAsync(ctx.hub.brokerUrl, { clientId: deviceId, username: deviceId, password, reconnectPeriod: 0 });
    await client.endAsync();
    return true;
  } catch {
    return false;
  }
}

async function tokenUses(token: string): Promise<number | undefined> {
  return (await ctx.hub.tokens.list()).find((t) => t.id === token.split('.')[0])?.uses;
}

const joinAs = (hardwareId: string, token: string, key = generateDeviceKey().key) =>
  joinFleet({ brokerUrl: ctx.hub.brokerUrl, token, hardwareId, key, hostname: 'intruder', agentVersion: 'test', facts: gatewayFacts({ hostname: 'intruder' }), connect: mqtt.connect, log: ctx.log.logger });

test.serial('a second agent with another state folder on the same machine is a new device with its token\'s labels; the first stays online', async (t) => {
  const agents: RunningAgent[] = [];
  t.teardown(() => Promise.all(agents.map((a) => a.stop())));
  const config = (name: string, token: string) => ({
    ...defaultAgentConfig({}),
    hubUrl: ctx.hub.apiUrl,
    joinToken: token,
    stateDir: join(ctx.dir, name),
    keepaliveSeconds: 2,
    factsIntervalSeconds: 3600,
    metricsIntervalSeconds: 3600,
  });
  // No --hardware-id: both agents read this machine's /etc/machine-id.
  const first = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: { role: 'hub-host' }, description: 'first', maxUses: 5 });
  agents.push(await startAgent(config('local-agent', first.token), captureLog('agent-1').logger));
  const local = agents[0]!;
  await waitFor('local agent online', async () => (await device(local.deviceId)).state === 'online');

  const second = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: { role: 'bench-board', site: 'bench' }, description: 'second', maxUses: 5 });
  const secondLog = captureLog('agent-2');
  agents.push(await startAgent(config('other-board', second.token), secondLog.logger));
  const other = agents[1]!;

  if (other.deviceId === local.deviceId) return t.fail(`the second agent took over ${local.deviceId}`);
  t.false(secondLog.has(/known board, same id/));
  const otherDevice = await waitFor('second agent online', async () => {
    const d = await device(other.deviceId);
    return d.state === 'online' ? d : undefined;
  });
  t.like(otherDevice.labels, { role: 'bench-board', site: 'bench' }, 'the token\'s labels are applied');
  t.not(otherDevice.hardwareId, (await device(local.deviceId)).hardwareId);
  t.is((await device(local.deviceId)).labels['role'], 'hub-host');
  t.true(local.session.connected, 'the first agent stays connected');
  t.is((await device(local.deviceId)).state, 'online');
});

test.serial('a join token and a known hardware id without the device key are held: no credentials, the real device stays; after approve the new key joins as that device', async (t) => {
  const real = await registerTestDevice(ctx.hub, 'victim-board-0001', ctx.log.logger);
  const stolen = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, description: 'leaked', maxUses: 5 });
  const intruderKey = generateDeviceKey().key;

  const refused = await t.throwsAsync(joinAs('victim-board-0001', stolen.token, intruderKey), { instanceOf: JoinRefusedError });
  t.is(refused?.code, 'approval-required');
  t.regex(refused?.message ?? '', new RegExp(`edgepilot device approve ${real.deviceId}`));
  t.true(await credentialsWork(real.deviceId, real.password), 'the real device\'s credentials still work');
  t.is(await tokenUses(stolen.token), 0, 'a held join takes no token use');
  const held = await device(real.deviceId);
  const pendingEvent = held.events.find((e) => e.reason === 'RejoinPending');
  t.is(pendingEvent?.type, 'Warning');
  t.regex(pendingEvent?.message ?? '', new RegExp(`run: edgepilot device approve ${real.deviceId}`));
  t.like(held.pendingRejoin, { hostname: 'intruder', tokenId: stolen.id, approved: false });
  t.truthy((await devices()).find((d) => d.id === real.deviceId)?.pendingRejoin, 'get devices shows it too');

  // The real device, proving its key, still re-joins under its id while the other waits.
  const proven = await joinFleet({ brokerUrl: ctx.hub.brokerUrl, token: stolen.token, hardwareId: 'victim-board-0001', key: real.key, hostname: 'victim', agentVersion: 'test', facts: gatewayFacts({ hostname: 'victim' }), connect: mqtt.connect, log: ctx.log.logger });
  t.is(proven.deviceId, real.deviceId);
  t.true(proven.reregistered);

  // A reflashed board (new key) waits, retrying, until a technician approves it.
  const enrollLog = captureLog('reflashed');
  const stateDir = join(ctx.dir, 'reflashed');
  await mkdir(stateDir);
  const abort = new AbortController();
  t.teardown(() => abort.abort(new Error('test over')));
  const waiting = enroll({
    stateDir,
    brokerUrl: ctx.hub.brokerUrl,
    joinToken: stolen.token,
    hardwareId: 'victim-board-0001',
    key: intruderKey,
    agentVersion: 'test',
    facts: async () => gatewayFacts({ hostname: 'intruder' }),
    connect: mqtt.connect,
    log: enrollLog.logger,
    signal: abort.signal,
    retry: { initialMs: 20, maxMs: 100 },
  });
  await waitFor('the held agent says it waits for approval, twice', () => enrollLog.lines.filter((l) => /waiting for approval.*edgepilot device approve/.test(l)).length >= 2);
  t.true(await credentialsWork(real.deviceId, proven.password), 'still held: the device keeps its credentials');

  const cli = (args: string[]) => runCli(args, { ...isolatedEnv(ctx.dir), EDGEPILOT_HUB: ctx.hub.apiUrl, EDGEPILOT_TOKEN: ctx.hub.createdAdminToken ?? '' });
  const described = await cli(['describe', 'device', real.deviceId]);
  t.regex(described.stdout, /Pending Re-join:\s+intruder with key SHA256:\S+ .*run: edgepilot device approve/);
  t.regex((await cli(['get', 'devices'])).stdout, new RegExp(`${real.deviceId}\\s+\\w+,RejoinPending`));
  const approved = await cli(['device', 'approve', real.deviceId]);
  t.is(approved.code, 0, approved.stderr);
  t.regex(approved.stdout, new RegExp(`device/${real.deviceId} approved key SHA256:\\S+ of intruder`));
  const identity = await waiting;
  t.is(identity.deviceId, real.deviceId, 'the approved key joins under the same id');
  t.true(await credentialsWork(real.deviceId, identity.password));
  t.false(await credentialsWork(real.deviceId, proven.password), 'the old credentials stop working');
  const after = await device(real.deviceId);
  t.is(after.pendingRejoin, undefined);
  t.truthy(after.events.find((e) => e.reason === 'RejoinApproved'));
  // Now the old key is the unknown one.
  await t.throwsAsync(joinAs('victim-board-0001', stolen.token, real.key), { instanceOf: JoinRefusedError, message: /device approve/ });
  t.is((await cli(['device', 'deny', real.deviceId])).code, 0);
  const again = await cli(['device', 'deny', real.deviceId]);
  t.not(again.code, 0, 'nothing left to decide');
  t.regex(again.stderr, /has no held join to decide/);
});

async function sendJoin(nonce: string, token: string, payload: string): Promise<JoinResponse> {
  const client = await mqtt.connectAsync(ctx.hub.brokerUrl, { clientId: joinClientId(nonce), username: JOIN_USERNAME, password: token, reconnectPeriod: 0 });
  try {
    const answer = new Promise<JoinResponse>((resolve) => client.on('message', (_t, body) => resolve(joinResponseSchema.parse(JSON.parse(body.toString())))));
    await client.subscribeAsync(topics.joinResponse(nonce), { qos: 1 });
    await client.publishAsync(topics.joinRequest(nonce), payload, { qos: 1 });
    return await answer;
  } finally {
    await client.endAsync();
  }
}

test.serial('a join request replayed with the same nonce is refused, takes no token use and gives no credentials', async (t) => {
  const token = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, description: 'replay', maxUses: 5 });
  const nonce = randomBytes(16).toString('hex');
  const request = signedJoinRequest(nonce, { token: token.token, hardwareId: 'replay-board-0001', hostname: 'replay', agentVersion: 'test', facts: gatewayFacts({ hostname: 'replay' }), key: generateDeviceKey().key });
  const payload = JSON.stringify(request);
  const first = await sendJoin(nonce, token.token, payload);
  t.true(first.ok);
  const count = (await devices()).length;
  const again = await sendJoin(nonce, token.token, payload);
  t.like(again, { ok: false, reason: 'replayed-request' });
  t.is(await tokenUses(token.token), 1, 'only the first request took a use');
  t.is((await devices()).length, count);
  if (first.ok) t.true(await credentialsWork(first.deviceId, first.password), 'the first answer\'s credentials were not rotated');
  // The same signed request under another nonce does not verify.
  const other = randomBytes(16).toString('hex');
  t.like(await sendJoin(other, token.token, payload), { ok: false, reason: 'bad-signature' });
});

test.serial('an agent whose credentials are refused keeps retrying, says what to do, and with a join token re-joins by proving its key', async (t) => {
  const stateDir = join(ctx.dir, 'refused');
  await mkdir(stateDir);
  const registered = await registerTestDevice(ctx.hub, 'refused-board-0001', ctx.log.logger);
  const sessionLog = captureLog('refused');
  const hint = credentialsRefusedHint(stateDir, false);
  const session = new DeviceSession({
    brokerUrl: ctx.hub.brokerUrl,
    deviceId: registered.deviceId,
    password: 'x'.repeat(43),
    keepaliveSeconds: 5,
    agentVersion: 'test',
    bootId: 'boot',
    connect: mqtt.connect,
    log: sessionLog.logger,
    credentialsRefusedHint: hint,
    refusedRetry: { initialMs: 20, maxMs: 50 },
  });
  t.teardown(() => session.stop());
  session.start();
  const actionable = new RegExp(`no longer accepts this device's credentials \\(device ${registered.deviceId}.*remove ${stateDir}/identity\\.json and start it with --hub <url> --join-token <token>`);
  await waitFor('three refusals, each explained', () => sessionLog.lines.filter((l) => actionable.test(l)).length >= 3);
  await session.stop();

  // Started with a join token: the agent gets new credentials for the same id by itself.
  await saveIdentity(stateDir, { deviceId: registered.deviceId, password: 'y'.repeat(43), brokerUrl: ctx.hub.brokerUrl, hardwareId: 'refused-board-0001', joinedAt: new Date().toISOString() });
  const token = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, description: 'rejoin', maxUses: 1 });
  const identity = await loadIdentity(stateDir);
  if (!identity) throw new Error('no identity');
  const renewingLog = captureLog('renewing');
  const renewing = new DeviceSession({
    brokerUrl: ctx.hub.brokerUrl,
    deviceId: registered.deviceId,
    password: identity.password,
    keepaliveSeconds: 5,
    agentVersion: 'test',
    bootId: 'boot',
    connect: mqtt.connect,
    log: renewingLog.logger,
    credentialsRefusedHint: credentialsRefusedHint(stateDir, true),
    renewCredentials: () =>
      rejoinWithKey({ stateDir, identity, joinToken: token.token, hardwareId: 'refused-board-0001', key: registered.key, agentVersion: 'test', facts: async () => gatewayFacts({ hostname: 'refused' }), connect: mqtt.connect, log: renewingLog.logger }),
    refusedRetry: { initialMs: 20, maxMs: 50 },
  });
  t.teardown(() => renewing.stop());
  const connected = new Promise<void>((resolve) => renewing.once('connected', () => resolve()));
  renewing.start();
  await connected;
  t.true(renewingLog.has(/re-joining by proving this board's device key/));
  const kept = await loadIdentity(stateDir);
  t.is(kept?.deviceId, registered.deviceId, 'the same id back');
  t.true(await credentialsWork(registered.deviceId, kept?.password ?? ''), 'the new credentials are kept durably');
});

test.serial('a proven re-join with another token applies that token\'s labels; with the same token the technician\'s labels stay', async (t) => {
  const siteA = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: { site: 'plant-a' }, description: 'a', maxUses: 5 });
  const key = generateDeviceKey().key;
  const rejoin = (token: string) =>
    joinFleet({ brokerUrl: ctx.hub.brokerUrl, token, hardwareId: 'moved-board-0001', key, hostname: 'moved', agentVersion: 'test', facts: gatewayFacts({ hostname: 'moved' }), connect: mqtt.connect, log: ctx.log.logger });
  const first = await rejoin(siteA.token);
  t.is(first.labels['site'], 'plant-a');
  const relabel = await fetch(`${ctx.hub.apiUrl}/v1/devices/${first.deviceId}/labels`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${ctx.hub.createdAdminToken ?? ''}`, 'content-type': 'application/json' },
    body: JSON.stringify({ set: { site: 'plant-a-hall-2' }, remove: [] }),
  });
  t.is(relabel.status, 200);
  t.is((await rejoin(siteA.token)).labels['site'], 'plant-a-hall-2', 'same token: the technician\'s label stays');
  const siteB = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: { site: 'plant-b' }, description: 'b', maxUses: 5 });
  const moved = await rejoin(siteB.token);
  t.is(moved.deviceId, first.deviceId);
  t.is(moved.labels['site'], 'plant-b', 'another token: its labels are applied');
  t.truthy((await device(first.deviceId)).events.find((e) => e.reason === 'Reregistered' && /token labels applied: site=plant-b/.test(e.message)));
});
