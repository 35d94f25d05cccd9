// registerDevice (src/hub/fleet/registration.ts) on its own: in-memory store, fixed clock, join
// requests signed with real device keys. Covers what a process-level test cannot see: which
// writes happen (and how durably) before the answer, and that refused or held joins change nothing.
import test from 'ava';
import { createLogger } from '../../../src/common/log.js';
import { generateDeviceKey } from '../../../src/device-agent/identity/device-key.js';
import { signedJoinRequest } from '../../../src/device-agent/identity/join.js';
import { DeviceFeed, type ChangeAspect, type ChangeType } from '../../../src/hub/fleet/device-feed.js';
import { JoinNonces } from '../../../src/hub/fleet/join-nonces.js';
import { deviceIdBase, registerDevice, type RegistrationDeps } from '../../../src/hub/fleet/registration.js';
import { JoinTokens } from '../../../src/hub/fleet/tokens.js';
import { eventSubjects } from '../../../src/hub/store/records.js';
import { secretMatches } from '../../../src/common/ids.js';
import { wellKnownLabels, type JoinRequest } from '../../../src/protocol/index.js';
import { gatewayFacts } from '../../support/facts-fixture.js';
import { MemoryStore } from '../../support/memory-store.js';

const start = Date.parse('2026-03-01T10:00:00Z');

interface Rig {
  store: MemoryStore;
  deps: RegistrationDeps;
  tokens: JoinTokens;
  changes: [string, ChangeType, ChangeAspect][];
  logs: string[];
  clock: { now: number };
}

function rig(): Rig {
  const store = new MemoryStore();
  const clock = { now: start };
  const now = (): Date => new Date(clock.now);
  const tokens = new JoinTokens(store.tokenRepository(), now);
  const feed = new DeviceFeed();
  const changes: [string, ChangeType, ChangeAspect][] = [];
  feed.subscribe((id, type, aspect) => changes.push([id, type, aspect]));
  const logs: string[] = [];
  const deps: RegistrationDeps = {
    tokens,
    devices: store.deviceRepository(),
    events: store.eventRepository(),
    feed,
    nonces: new JoinNonces(start - 1000),
    now,
    log: createLogger('join', 'debug', (line) => logs.push(line)),
  };
  return { store, deps, tokens, changes, logs, clock };
}

let nonceCounter = 0;
function request(token: string, key = generateDeviceKey().key, overrides: Partial<{ hardwareId: string; hostname: string; now: number }> = {}): { nonce: string; body: JoinRequest; key: typeof key } {
  nonceCounter += 1;
  const nonce = `nonce${String(nonceCounter).padStart(12, '0')}`;
  const body = signedJoinRequest(nonce, {
    token,
    hardwareId: overrides.hardwareId ?? 'hw-board-0001',
    hostname: overrides.hostname ?? 'Line 2 / Press #7',
    agentVersion: 'test',
    facts: gatewayFacts({ hostname: overrides.hostname ?? 'line-2-press-7' }),
    key,
    now: () => overrides.now ?? start,
  });
  return { nonce, body, key };
}

async function token(r: Rig, labels: Record<string, string> = { site: 'plant-3' }, maxUses?: number): Promise<string> {
  const created = await r.tokens.create({ ttlSeconds: 3600, labels, description: 't', ...(maxUses !== undefined ? { maxUses } : {}) });
  r.store.writes.length = 0;
  return created.token;
}

test('a new board: one durable device write, token use folded into it, labels from the token and facts, an event and a feed change', async (t) => {
  const r = rig();
  const tok = await token(r);
  const { nonce, body } = request(tok);
  const answer = await registerDevice(nonce, body, r.deps);
  if (!answer.ok) return t.fail(answer.message);
  t.regex(answer.deviceId, /^line-2-press-7-[a-z0-9]{5}$/);
  t.false(answer.reregistered);
  const device = r.store.devices.get(answer.deviceId);
  t.truthy(device);
  t.is(device?.hardwareId, 'hw-board-0001');
  t.is(device?.publicKey, body.publicKey);
  t.is(device?.labels['site'], 'plant-3');
  t.is(device?.labels[wellKnownLabels.arch], 'arm64');
  t.true(secretMatches(answer.password, device?.credentialHash ?? ''), 'only the hash of the password is stored, and it matches');
  t.notRegex(JSON.stringify(device), new RegExp(answer.password));
  // The token's use is lazy, the device is sync: the answer waits for one durable write holding both.
  t.deepEqual(r.store.writes, [
    { collection: 'tokens', key: tok.split('.')[0] ?? '', durability: 'lazy' },
    { collection: 'devices', key: answer.deviceId, durability: 'sync' },
  ]);
  t.is(r.store.tokens.get(tok.split('.')[0] ?? '')?.uses, 1);
  t.deepEqual(
    r.store.events.get(eventSubjects.device(answer.deviceId))?.map((e) => [e.reason, e.time]),
    [['Registered', new Date(start).toISOString()]],
  );
  t.deepEqual(r.changes, [[answer.deviceId, 'ADDED', 'registration']]);
});

test('the same board proving its key again: same id, new credentials, no second device', async (t) => {
  const r = rig();
  const tok = await token(r);
  const first = request(tok);
  const one = await registerDevice(first.nonce, first.body, r.deps);
  const again = request(tok, first.key, { now: start + 1000 });
  r.clock.now = start + 1000;
  const two = await registerDevice(again.nonce, again.body, r.deps);
  if (!one.ok || !two.ok) return t.fail('refused');
  t.is(two.deviceId, one.deviceId);
  t.true(two.reregistered);
  t.not(two.password, one.password);
  t.is(r.store.devices.size, 1);
  t.false(secretMatches(one.password, r.store.devices.get(one.deviceId)?.credentialHash ?? ''), 'the old password no longer matches');
  t.deepEqual(r.store.events.get(eventSubjects.device(one.deviceId))?.map((e) => e.reason), ['Registered', 'Reregistered']);
});

test('two joins of one board at once (a retry while the first is on its way): one device, the second a re-join; the token spends one use', async (t) => {
  const r = rig();
  const tok = await token(r, { site: 'plant-3' }, 5);
  const first = request(tok);
  const retry = request(tok, first.key);
  const [one, two] = await Promise.all([registerDevice(first.nonce, first.body, r.deps), registerDevice(retry.nonce, retry.body, r.deps)]);
  if (!one.ok || !two.ok) return t.fail('refused');
  t.is(r.store.devices.size, 1);
  t.is(two.deviceId, one.deviceId);
  t.true(two.reregistered);
  t.true(secretMatches(two.password, r.store.devices.get(one.deviceId)?.credentialHash ?? ''), 'the last answer holds the credentials in the store');
  t.is(r.store.tokens.get(tok.split('.')[0] ?? '')?.uses, 1);
});

test('a re-join with the token the board joined with spends no use; with another token it spends one of that token and takes its labels', async (t) => {
  const r = rig();
  const tok = await token(r, { site: 'plant-3' }, 1);
  const first = request(tok);
  const one = await registerDevice(first.nonce, first.body, r.deps);
  if (!one.ok) return t.fail('refused');
  const again = request(tok, first.key);
  t.like(await registerDevice(again.nonce, again.body, r.deps), { ok: true, reregistered: true });
  t.is(r.store.tokens.get(tok.split('.')[0] ?? '')?.uses, 1, 'a --max-uses 1 token still works for its own board');
  const other = await token(r, { site: 'plant-4' }, 2);
  const moved = request(other, first.key);
  const answer = await registerDevice(moved.nonce, moved.body, r.deps);
  t.like(answer, { ok: true, reregistered: true });
  t.is(r.store.tokens.get(other.split('.')[0] ?? '')?.uses, 1);
  t.is(r.store.devices.get(one.deviceId)?.labels['site'], 'plant-4');
});

test('a re-join changes the record as stored: a status the device sent after the join looked it up stays (a retried join\'s first answer reached the device)', async (t) => {
  const r = rig();
  const tok = await token(r);
  const first = request(tok);
  const one = await registerDevice(first.nonce, first.body, r.deps);
  if (!one.ok) return t.fail('refused');
  // The device connects on the first answer while the retried join is on its way: its status is
  // stored after the retry looked the board up and before the retry writes its new credentials.
  const devices = r.deps.devices;
  const online = { state: 'online' as const, reason: 'connected' as const, agentVersion: 'test', bootId: 'b', sessionId: 's1', since: new Date(start).toISOString() };
  r.deps.devices = {
    ...devices,
    findByHardwareId: async (hardwareId) => {
      const found = await devices.findByHardwareId(hardwareId);
      await devices.observe(one.deviceId, (d) => void (d.status = online));
      return found;
    },
  };
  const retry = request(tok, first.key);
  t.like(await registerDevice(retry.nonce, retry.body, r.deps), { ok: true, reregistered: true });
  t.deepEqual(r.store.devices.get(one.deviceId)?.status, online);
});

test('a known board with another key is held: nothing consumed, credentials unchanged, a RejoinPending event naming the approve command', async (t) => {
  const r = rig();
  const tok = await token(r, {}, 5);
  const first = request(tok);
  const one = await registerDevice(first.nonce, first.body, r.deps);
  if (!one.ok) return t.fail('refused');
  const before = structuredClone(r.store.devices.get(one.deviceId));
  const stranger = request(tok, generateDeviceKey().key);
  const held = await registerDevice(stranger.nonce, stranger.body, r.deps);
  t.like(held, { ok: false, reason: 'approval-required' });
  t.is(r.store.tokens.get(tok.split('.')[0] ?? '')?.uses, 1, 'a held join takes no use of the token');
  const after = r.store.devices.get(one.deviceId);
  t.is(after?.credentialHash, before?.credentialHash);
  t.is(after?.publicKey, before?.publicKey);
  t.is(after?.pendingRejoin?.publicKey, stranger.body.publicKey);
  const pending = r.store.events.get(eventSubjects.device(one.deviceId))?.at(-1);
  t.is(pending?.reason, 'RejoinPending');
  t.regex(pending?.message ?? '', new RegExp(`edgepilot device approve ${one.deviceId}`));
});

test('refusals change nothing: unknown token, exhausted token, replayed nonce, bad signature', async (t) => {
  const r = rig();
  const tok = await token(r, {}, 1);
  const unknown = request(`${tok.split('.')[0] ?? ''}.wrongsecretwrongsecretwron`);
  t.like(await registerDevice(unknown.nonce, unknown.body, r.deps), { ok: false, reason: 'unknown-token' });

  const good = request(tok);
  const ok = await registerDevice(good.nonce, good.body, r.deps);
  t.true(ok.ok);
  const writesAfterFirst = r.store.writes.length;

  const exhausted = request(tok, undefined, { hardwareId: 'hw-board-0002', hostname: 'other' });
  t.like(await registerDevice(exhausted.nonce, exhausted.body, r.deps), { ok: false, reason: 'exhausted-token' });

  const second = await token(r);
  const replay = request(second, undefined, { hardwareId: 'hw-board-0003' });
  t.true((await registerDevice(replay.nonce, replay.body, r.deps)).ok);
  const replayed = await registerDevice(replay.nonce, replay.body, r.deps);
  t.like(replayed, { ok: false, reason: 'replayed-request' });

  // Signed by one key, sent with another's public half.
  const forged = request(second, undefined, { hardwareId: 'hw-board-0004' });
  const badSignature = { ...forged.body, publicKey: generateDeviceKey().key.publicKey };
  t.like(await registerDevice(forged.nonce, badSignature, r.deps), { ok: false, reason: 'bad-signature' });
  t.is(r.store.devices.size, 2);
  t.is(r.store.writes.filter((w) => w.collection === 'devices').length, 1, 'only the successful join of the second token wrote a device since');
  t.true(writesAfterFirst > 0);
  t.true(r.logs.some((l) => /join refused .*exhausted|has been used 1 of 1/.test(l)));
});

test('a request signed outside the time window is stale', async (t) => {
  const r = rig();
  const tok = await token(r);
  const old = request(tok, undefined, { now: start - 60 * 60_000 });
  t.like(await registerDevice(old.nonce, old.body, r.deps), { ok: false, reason: 'stale-request' });
  t.is(r.store.devices.size, 0);
});

test('device ids: lowercase, dashes, at most 40 characters of the hostname', (t) => {
  t.is(deviceIdBase('Line 2 / Press #7'), 'line-2-press-7');
  t.is(deviceIdBase('---'), 'device');
  t.is(deviceIdBase('x'.repeat(80)).length, 40);
  t.is(deviceIdBase(`${'a'.repeat(39)}-b`), 'a'.repeat(39));
});
