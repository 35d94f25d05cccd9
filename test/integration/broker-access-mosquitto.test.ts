import test from 'ava';
import { randomBytes } from 'node:crypto';
import { joinClientId, joinTokenId, joinUsername, topics } from '../../src/protocol/index.js';
import type { RunningHub } from '../../src/hub/main.js';
import { captureLog, registerTestDevice, startTestHub, type CapturedLog } from '../support/in-process-hub.js';
import { startMosquitto, type StartedMosquitto } from '../support/mosquitto.js';
import { publishOutcome, runTool, subackCode } from '../support/mqtt-cli.js';
import { makeTempDir } from '../support/paths.js';

// The access cases of broker-access.test.ts, against Mosquitto with its dynamic-security
// plugin (anonymous off), with Mosquitto's own clients. The hub provisions every account and
// ACL through $CONTROL/dynamic-security/v1; nothing here is configured by hand.

interface Context {
  dir: string;
  hub: RunningHub;
  mosquitto: StartedMosquitto;
  log: CapturedLog;
  a: { deviceId: string; password: string };
  b: { deviceId: string; password: string };
  cleanup: () => Promise<void>;
}
const ctx = {} as Context;

test.before(async () => {
  const dir = await makeTempDir('ep-dynsec-');
  ctx.dir = dir.path;
  ctx.mosquitto = await startMosquitto(dir.path, { dynsec: true });
  ctx.log = captureLog();
  ctx.hub = await startTestHub(dir.path, ctx.log.logger, ctx.mosquitto.url, { brokerDynsec: true });
  // Both join through Mosquitto: the join session's account is the token's, made by the hub.
  ctx.a = await registerTestDevice(ctx.hub, 'dynsec-board-a', ctx.log.logger);
  ctx.b = await registerTestDevice(ctx.hub, 'dynsec-board-b', ctx.log.logger);
  ctx.cleanup = async () => {
    await ctx.hub.close();
    await ctx.mosquitto.proc.kill();
    await dir.remove();
  };
});

test.after.always(async () => {
  await ctx.cleanup?.();
});

const broker = (): string[] => ['-h', '127.0.0.1', '-p', String(ctx.mosquitto.port), '-V', 'mqttv5', '-d'];
const as = (device: { deviceId: string; password: string }, password = device.password): string[] => ['-i', device.deviceId, '-u', device.deviceId, '-P', password];

const publish = (who: string[], topic: string) => runTool('mosquitto_pub', [...broker(), ...who, '-q', '1', '-t', topic, '-m', '{}']);
const subscribe = (who: string[], filter: string) => runTool('mosquitto_sub', [...broker(), ...who, '-q', '1', '-t', filter, '-W', '1']);

async function api(method: string, path: string): Promise<Response> {
  return fetch(`${ctx.hub.apiUrl}${path}`, { method, headers: { authorization: `Bearer ${ctx.hub.createdAdminToken ?? ''}` } });
}

test.serial('a device publishes on its own channels and nowhere else', async (t) => {
  t.is(publishOutcome(await publish(as(ctx.a), topics.events(ctx.a.deviceId))), 'accepted');
  t.is(publishOutcome(await publish(as(ctx.a), topics.rpcResponse(ctx.a.deviceId, 'corr-0001'))), 'accepted');
  t.is(publishOutcome(await publish(as(ctx.a), topics.mcuTelemetry(ctx.a.deviceId, 'mcu-1'))), 'accepted');
  t.is(publishOutcome(await publish(as(ctx.a), topics.status(ctx.b.deviceId))), 'refused', "another device's status");
  t.is(publishOutcome(await publish(as(ctx.a), topics.desired(ctx.a.deviceId))), 'refused', 'its own desired state is the hub\'s');
  t.is(publishOutcome(await publish(as(ctx.a), topics.rpcRequest(ctx.a.deviceId))), 'refused', 'rpc requests are the hub\'s');
  t.is(publishOutcome(await publish(as(ctx.a), 'ep/v1/join/00000000000000000000000000000000/res')), 'refused', 'join answers are the hub\'s');
});

test.serial('a device subscribes only to its own desired, rpc/req and runs/ack, by exact filter', async (t) => {
  t.is(subackCode(await subscribe(as(ctx.a), topics.desired(ctx.a.deviceId))), 1);
  t.is(subackCode(await subscribe(as(ctx.a), topics.rpcRequest(ctx.a.deviceId))), 1);
  t.is(subackCode(await subscribe(as(ctx.a), topics.runsAck(ctx.a.deviceId))), 1);
  for (const filter of ['ep/v1/d/+/desired', topics.desired(ctx.b.deviceId), '#', `ep/v1/d/${ctx.a.deviceId}/#`, 'ep/v1/join/+/res']) {
    const code = subackCode(await subscribe(as(ctx.a), filter));
    t.true(code !== undefined && code >= 128, `${filter} refused (SUBACK ${String(code)})`);
  }
});

test.serial('a join session reads only an exact response topic and publishes only join requests', async (t) => {
  const token = (await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, description: 'dynsec-join' })).token;
  const tokenId = joinTokenId(token);
  const session = ['-i', joinClientId(randomBytes(16).toString('hex')), '-u', joinUsername(tokenId), '-P', token.split('.').slice(0, 2).join('.')];
  t.is(subackCode(await subscribe(session, topics.joinResponse(randomBytes(16).toString('hex')))), 1, 'an exact response topic');
  for (const filter of ['ep/v1/join/+/res', 'ep/v1/join/#', 'ep/v1/join/+/req', '#']) {
    const code = subackCode(await subscribe(session, filter));
    t.true(code !== undefined && code >= 128, `${filter} refused (SUBACK ${String(code)})`);
  }
  t.is(publishOutcome(await publish(session, topics.status(ctx.a.deviceId))), 'refused', 'a join session is no device');

  t.is((await api('DELETE', `/v1/tokens/${tokenId}`)).status < 300, true, 'token revoked');
  t.is(publishOutcome(await publish(session, topics.joinRequest(randomBytes(16).toString('hex')))), 'not-connected', 'a revoked token opens no session');
});

test.serial('a wrong password is refused at CONNECT', async (t) => {
  t.is(publishOutcome(await publish(as(ctx.a, 'x'.repeat(43)), topics.events(ctx.a.deviceId))), 'not-connected');
  t.is(publishOutcome(await publish(['-i', ctx.b.deviceId, '-u', ctx.a.deviceId, '-P', 'nope'], topics.events(ctx.a.deviceId))), 'not-connected');
  t.is(publishOutcome(await publish(['-u', ctx.mosquitto.admin?.username ?? '', '-P', 'wrong'], topics.events(ctx.a.deviceId))), 'not-connected', 'no anonymous or guessed admin');
});

test.serial('a deleted device is refused: its account and role are gone', async (t) => {
  t.is(publishOutcome(await publish(as(ctx.b), topics.events(ctx.b.deviceId))), 'accepted', 'before the delete');
  const deleted = await api('DELETE', `/v1/devices/${ctx.b.deviceId}`);
  t.true(deleted.ok, `delete answered ${deleted.status}`);
  t.is(publishOutcome(await publish(as(ctx.b), topics.events(ctx.b.deviceId))), 'not-connected');
  t.true(ctx.log.has(new RegExp(`removed broker client and role of device ${ctx.b.deviceId}`)));
});

test.serial('a restarted hub names the valid join tokens the broker has no account for', async (t) => {
  const token = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, description: 'lost on the broker' });
  const kept = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, description: 'still on the broker' });
  // What a reset dynamic-security file does to one token's account.
  const admin = ctx.mosquitto.admin ?? { username: '', password: '' };
  const removed = await runTool('mosquitto_ctrl', ['-h', '127.0.0.1', '-p', String(ctx.mosquitto.port), '-u', admin.username, '-P', admin.password, 'dynsec', 'deleteClient', joinUsername(token.id)]);
  t.is(removed.code, 0, removed.output);
  await ctx.hub.close();
  const log = captureLog();
  ctx.hub = await startTestHub(ctx.dir, log.logger, ctx.mosquitto.url, { brokerDynsec: true }).catch((err: unknown) => {
    t.log(log.lines.slice(-15).join('\n'));
    throw err;
  });
  t.true(log.has(new RegExp(`join token ${token.id} has no account on the broker`)));
  t.false(log.has(new RegExp(`join token ${kept.id} has no account`)));
});
