import test from 'ava';
import { joinTokenWithCa, parseJoinToken } from '../../../src/protocol/index.js';

const bare = `k3x9qa.Yt0c1_-${'A'.repeat(24)}z`;
const fingerprint = 'ab'.repeat(32);

test('a token with a CA fingerprint splits into what the hub checks and what the agent pins', (t) => {
  t.deepEqual(parseJoinToken(joinTokenWithCa(bare, fingerprint)), { token: bare, caFingerprint: fingerprint });
});

test('tokens made before TLS still parse, without a fingerprint', (t) => {
  t.deepEqual(parseJoinToken(bare), { token: bare });
  t.deepEqual(parseJoinToken(`  ${bare}\n`), { token: bare }, 'pasted with whitespace');
});

test('malformed tokens and fingerprints are refused', (t) => {
  for (const text of ['', 'k3x9qa', `${bare}.`, `${bare}.${'ab'.repeat(31)}`, `${bare}.${'AB'.repeat(32)}`, `${bare}.${fingerprint}.x`, `K3X9QA.${bare.slice(7)}`]) {
    t.is(parseJoinToken(text), undefined, JSON.stringify(text));
  }
  t.throws(() => joinTokenWithCa(bare, 'not-hex'));
});
