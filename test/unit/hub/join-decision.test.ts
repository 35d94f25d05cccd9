import test from 'ava';
import { generateDeviceKey } from '../../../src/device-agent/identity/device-key.js';
import { signedJoinRequest } from '../../../src/device-agent/identity/join.js';
import { decideJoin, type JoinDecisionInput } from '../../../src/hub/fleet/join-decision.js';
import { JoinNonces } from '../../../src/hub/fleet/join-nonces.js';
import { joinSignatureValid } from '../../../src/hub/fleet/join-proof-check.js';
import { joinProofPayload, joinRequestSchema } from '../../../src/protocol/index.js';
import { gatewayFacts } from '../../support/facts-fixture.js';

const TOKEN = 'abc123.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef';
const NOW = Date.parse('2026-11-30T12:00:00Z');

function request(nonce: string, key = generateDeviceKey().key, timestamp = NOW) {
  return signedJoinRequest(nonce, { token: TOKEN, hardwareId: 'board-0001', hostname: 'board', agentVersion: 't', facts: gatewayFacts({ hostname: 'board' }), key, now: () => timestamp });
}

test('the signed payload is canonical and binds every field', (t) => {
  const fields = { nonce: 'a'.repeat(32), hardwareId: 'board-0001', tokenId: 'abc123', publicKey: 'MCow', timestamp: NOW };
  t.deepEqual(joinProofPayload(fields), joinProofPayload({ ...fields }));
  t.is(new TextDecoder().decode(joinProofPayload(fields)), JSON.stringify(['edgepilot-join-proof-v1', 'a'.repeat(32), 'board-0001', 'abc123', 'MCow', NOW]));
  for (const change of [{ nonce: 'b'.repeat(32) }, { hardwareId: 'board-0002' }, { tokenId: 'zzz999' }, { publicKey: 'MCox' }, { timestamp: NOW + 1 }]) {
    t.notDeepEqual(joinProofPayload({ ...fields, ...change }), joinProofPayload(fields), JSON.stringify(change));
  }
});

test('a signed request passes the protocol schema and verifies; any tampering does not', (t) => {
  const nonce = '0123456789abcdef0123456789abcdef';
  const signed = request(nonce);
  t.true(joinRequestSchema.safeParse(signed).success);
  t.true(joinSignatureValid(nonce, signed));
  t.false(joinSignatureValid('f'.repeat(32), signed), 'another nonce');
  t.false(joinSignatureValid(nonce, { ...signed, hardwareId: 'board-0002' }), 'another board');
  t.false(joinSignatureValid(nonce, { ...signed, token: 'zzz999.ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef' }), 'another token');
  t.false(joinSignatureValid(nonce, { ...signed, timestamp: NOW + 1 }), 'another time');
  t.false(joinSignatureValid(nonce, { ...signed, publicKey: generateDeviceKey().key.publicKey }), 'another key');
  t.false(joinSignatureValid(nonce, { ...signed, publicKey: 'MCowBQYDK2VwAyEA' + 'A'.repeat(43) + '=' }), 'not a point on the curve or wrong key');
});

test('a nonce is single-use inside the time window; outside it the request is stale', (t) => {
  const nonces = new JoinNonces(NOW - 60_000, { maxAgeMs: 300_000, maxSkewMs: 60_000, capacity: 100 });
  t.is(nonces.claim('n1', NOW, NOW), 'fresh');
  t.is(nonces.claim('n1', NOW, NOW + 1000), 'replayed');
  t.is(nonces.claim('n2', NOW - 300_001, NOW), 'stale');
  t.is(nonces.claim('n3', NOW + 60_001, NOW), 'future');
  t.is(nonces.claim('n4', NOW - 60_001, NOW), 'stale', 'signed before the hub started: its nonce may be in an earlier process');
  t.is(nonces.claim('n1', NOW, NOW + 300_001), 'stale', 'a replay after the window is refused by its time');
});

test('the nonce memory is bounded, and forgetting never reopens a replay', (t) => {
  const nonces = new JoinNonces(0, { maxAgeMs: 300_000, maxSkewMs: 60_000, capacity: 3 });
  for (let i = 0; i < 3; i++) t.is(nonces.claim(`n${i}`, NOW + i, NOW + 10), 'fresh');
  t.is(nonces.claim('n3', NOW + 5, NOW + 10), 'fresh');
  t.true(nonces.size <= 3);
  // n0 was forgotten to make room: its replay is refused by the raised floor.
  t.is(nonces.claim('n0', NOW, NOW + 20), 'stale');
  for (let i = 0; i < 3; i++) t.not(nonces.claim(`n${i}`, NOW + i, NOW + 20), 'fresh');
});

const base: JoinDecisionInput = {
  signatureValid: true,
  nonce: 'fresh',
  existing: undefined,
  request: { publicKey: 'K-new', hostname: 'board', hardwareId: 'board-0001', tokenId: 'abc123', timestamp: NOW },
  now: new Date(NOW),
};

test('join decisions: new, proven re-join, approved re-join, held, refused', (t) => {
  t.deepEqual(decideJoin(base), { kind: 'new' });
  t.like(decideJoin({ ...base, signatureValid: false }), { kind: 'refuse', reason: 'bad-signature' });
  t.like(decideJoin({ ...base, nonce: 'replayed' }), { kind: 'refuse', reason: 'replayed-request' });
  t.like(decideJoin({ ...base, nonce: 'stale' }), { kind: 'refuse', reason: 'stale-request' });
  t.like(decideJoin({ ...base, nonce: 'future' }), { kind: 'refuse', reason: 'stale-request' });
  t.deepEqual(decideJoin({ ...base, existing: { id: 'dev-1', publicKey: 'K-new' } }), { kind: 'rejoin-proven' });

  const held = decideJoin({ ...base, existing: { id: 'dev-1', publicKey: 'K-old' } });
  t.like(held, { kind: 'hold', record: true, pending: { publicKey: 'K-new', tokenId: 'abc123', hostname: 'board' } });
  if (held.kind === 'hold') t.regex(held.message, /edgepilot device approve dev-1/);
  t.like(decideJoin({ ...base, existing: { id: 'dev-1' } }), { kind: 'hold' }, 'a device from before keys is held too');

  const pending = { publicKey: 'K-new', hostname: 'board', tokenId: 'abc123', requestedAt: new Date(NOW).toISOString() };
  t.like(decideJoin({ ...base, existing: { id: 'dev-1', publicKey: 'K-old', pendingRejoin: pending } }), { kind: 'hold', record: false }, 'asking again records nothing new');
  t.like(decideJoin({ ...base, request: { ...base.request, publicKey: 'K-other' }, existing: { id: 'dev-1', publicKey: 'K-old', pendingRejoin: pending } }), {
    kind: 'hold',
    record: true,
    pending: { publicKey: 'K-other' },
  });
  const approved = { ...pending, approvedAt: new Date(NOW).toISOString() };
  t.deepEqual(decideJoin({ ...base, existing: { id: 'dev-1', publicKey: 'K-old', pendingRejoin: approved } }), { kind: 'rejoin-approved' });
  t.like(decideJoin({ ...base, request: { ...base.request, publicKey: 'K-other' }, existing: { id: 'dev-1', publicKey: 'K-old', pendingRejoin: approved } }), {
    kind: 'hold',
    record: false,
    pending: { publicKey: 'K-new' },
  }, 'another key does not displace an approved one');
  // The real device, proving its key, still joins while another key waits.
  t.deepEqual(decideJoin({ ...base, request: { ...base.request, publicKey: 'K-old' }, existing: { id: 'dev-1', publicKey: 'K-old', pendingRejoin: pending } }), { kind: 'rejoin-proven' });
});
