import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { certificateFingerprint } from '../../src/common/tls-trust.js';
import type { RunningHub } from '../../src/hub/main.js';
import { createCa } from '../../src/hub/tls/hub-ca.js';
import { topics } from '../../src/protocol/index.js';
import { isolatedEnv, startAgentProcess } from '../support/fleet.js';
import { captureLog, registerTestDevice, startTestHub, type CapturedLog } from '../support/in-process-hub.js';
import { runTool } from '../support/mqtt-cli.js';
import { makeTempDir } from '../support/paths.js';
import { runCli, type ManagedProcess } from '../support/processes.js';

// Issue 13, TLS: the hub makes its CA and serves https and mqtts with it; join tokens carry the
// CA's fingerprint, the agent pins the CA after checking it; the CLI trusts it via its config.

interface Context {
  dir: string;
  hub: RunningHub;
  log: CapturedLog;
  caFile: string;
  wrongCaFile: string;
  device: { deviceId: string; password: string };
  processes: ManagedProcess[];
  cleanup: () => Promise<void>;
}
const ctx = {} as Context;

test.before(async () => {
  const dir = await makeTempDir('ep-tls-');
  ctx.dir = dir.path;
  ctx.processes = [];
  ctx.log = captureLog();
  ctx.hub = await startTestHub(dir.path, ctx.log.logger, undefined, { tls: true });
  ctx.caFile = join(dir.path, 'hub-ca.pem');
  ctx.wrongCaFile = join(dir.path, 'other-ca.pem');
  await writeFile(ctx.caFile, ctx.hub.ca ?? '');
  await writeFile(ctx.wrongCaFile, createCa(new Date(), 'some other CA').cert);
  ctx.device = await registerTestDevice(ctx.hub, 'tls-board-a', ctx.log.logger);
  ctx.cleanup = async () => {
    await Promise.all(ctx.processes.map((p) => p.kill('SIGKILL')));
    await ctx.hub.close();
    await dir.remove();
  };
});

test.after.always(async () => {
  await ctx.cleanup?.();
});

const apiPort = (): string => new URL(ctx.hub.apiUrl).port;
const brokerPort = (): string => new URL(ctx.hub.brokerUrl).port;

test('the hub serves https and mqtts by default, with a certificate for its loopback names', (t) => {
  t.regex(ctx.hub.apiUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  t.regex(ctx.hub.brokerUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
  t.is(certificateFingerprint(ctx.hub.ca ?? ''), ctx.hub.caFingerprint ?? 'none');
});

test('https: curl --cacert with the hub CA connects; a wrong CA and plain http are refused', async (t) => {
  const ok = await runTool('curl', ['-sS', '--cacert', ctx.caFile, `https://127.0.0.1:${apiPort()}/healthz`]);
  t.is(ok.code, 0, ok.output);
  t.regex(ok.output, /"ok":true/);
  const wrong = await runTool('curl', ['-sS', '--cacert', ctx.wrongCaFile, `https://127.0.0.1:${apiPort()}/healthz`]);
  t.is(wrong.code, 60, `curl: peer certificate cannot be authenticated with the given CA (${wrong.output.trim()})`);
  const plain = await runTool('curl', ['-sS', `http://127.0.0.1:${apiPort()}/healthz`]);
  t.not(plain.code, 0, 'no plaintext API without --insecure');
  t.notRegex(plain.output, /"ok":true/);
});

test('mqtts: mosquitto_sub --cafile connects as a device; a wrong CA and plain MQTT are refused', async (t) => {
  const sub = (extra: string[]) =>
    runTool('mosquitto_sub', ['-d', '-h', '127.0.0.1', '-p', brokerPort(), '-i', ctx.device.deviceId, '-u', ctx.device.deviceId, '-P', ctx.device.password, '-t', topics.desired(ctx.device.deviceId), '-W', '1', ...extra]);
  const ok = await sub(['--cafile', ctx.caFile]);
  t.regex(ok.output, /received CONNACK \(0\)/, ok.output);
  t.regex(ok.output, /Subscribed \(mid: \d+\): 0/, 'its own desired topic');
  const wrong = await sub(['--cafile', ctx.wrongCaFile]);
  t.notRegex(wrong.output, /received CONNACK/, wrong.output);
  t.regex(wrong.output, /certificate verify failed|TLS|Error/i);
  const plain = await sub([]);
  t.notRegex(plain.output, /received CONNACK/, 'no plaintext broker without --insecure');
});

test('an agent joins with a token that carries the CA fingerprint, pins the CA and talks mqtts', async (t) => {
  const token = (await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, maxUses: 1, description: 'tls agent' })).token;
  t.regex(token, /^[a-z0-9]{6}\.[A-Za-z0-9_-]{32}\.[a-f0-9]{64}$/);
  t.true(token.endsWith(`.${ctx.hub.caFingerprint ?? ''}`));
  const stateDir = join(ctx.dir, 'agent-good');
  const agent = startAgentProcess({ name: 'agent-good', root: ctx.dir, hubUrl: ctx.hub.apiUrl, joinToken: token, stateDir, hardwareId: 'tls-board-good' });
  ctx.processes.push(agent);
  await agent.waitForOutput(/connected to mqtts:\/\/127\.0\.0\.1:\d+ as \S+/, 90_000);
  t.is(certificateFingerprint(await readFile(join(stateDir, 'hub-ca.pem'), 'utf8')), ctx.hub.caFingerprint ?? 'none', 'the pinned CA is the hub CA');
  await agent.kill();
});

test('a token with a wrong CA fingerprint makes the agent refuse to join, with a clear line, spending no use', async (t) => {
  const created = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, maxUses: 1, description: 'wrong fp' });
  const forged = created.token.replace(/\.[a-f0-9]{64}$/, `.${'0'.repeat(64)}`);
  const agent = startAgentProcess({ name: 'agent-wrong-fp', root: ctx.dir, hubUrl: ctx.hub.apiUrl, joinToken: forged, stateDir: join(ctx.dir, 'agent-wrong'), hardwareId: 'tls-board-wrong' });
  ctx.processes.push(agent);
  await agent.waitForOutput(/presented a CA with fingerprint [a-f0-9]{64}, not the expected 0{64}: refusing to trust it/, 60_000);
  t.not((await agent.exited).code, 0);
  const view = (await ctx.hub.tokens.list()).find((v) => v.id === created.id);
  t.is(view?.uses, 0, 'the hub never saw a join request');
});

test('a token made before TLS (no fingerprint) is refused against an https hub, saying what to do', async (t) => {
  const created = await ctx.hub.tokens.create({ ttlSeconds: 600, labels: {}, maxUses: 1, description: 'old format' });
  const old = created.token.replace(/\.[a-f0-9]{64}$/, '');
  const agent = startAgentProcess({ name: 'agent-old-token', root: ctx.dir, hubUrl: ctx.hub.apiUrl, joinToken: old, stateDir: join(ctx.dir, 'agent-old'), hardwareId: 'tls-board-old' });
  ctx.processes.push(agent);
  await agent.waitForOutput(/carries no CA fingerprint .*edgepilot token create.*--hub-ca/, 60_000);
  t.not((await agent.exited).code, 0);
});

test('the CLI trusts the hub only after login checked the CA fingerprint', async (t) => {
  const env = isolatedEnv(join(ctx.dir, 'cli'));
  const config = join(ctx.dir, 'cli-config.yaml');
  const admin = ['--hub', ctx.hub.apiUrl, '--token', ctx.hub.createdAdminToken ?? ''];
  const untrusted = await runCli([...admin, 'get', 'devices'], env);
  t.is(untrusted.code, 1);
  t.regex(untrusted.stderr, /presented a certificate this CLI does not trust .*edgepilot login/);

  const wrong = await runCli(['--config', config, ...admin, 'login', '--ca-fingerprint', 'a'.repeat(64)], env);
  t.is(wrong.code, 1);
  t.regex(wrong.stderr, /not the expected a{64}: refusing to trust it/);

  const login = await runCli(['--config', config, ...admin, 'login', '--ca-fingerprint', ctx.hub.caFingerprint ?? ''], env);
  t.is(login.code, 0, login.stderr);
  const devices = await runCli(['--config', config, 'get', 'devices'], env);
  t.is(devices.code, 0, devices.stderr);
  t.regex(devices.stdout, new RegExp(ctx.device.deviceId));
});
