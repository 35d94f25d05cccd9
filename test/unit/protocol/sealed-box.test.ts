// The sealed box Secrets travel in: only the device whose X25519 key it was sealed to can open it,
// and only as the object and version it was sealed for.
import test from 'ava';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { boxKeyId, openSealedBox, rawPublicKey, sealBox, SealedBoxError } from '../../../src/protocol/index.js';

const deviceA = generateKeyPairSync('x25519').privateKey;
const deviceB = generateKeyPairSync('x25519').privateKey;
const publicA = rawPublicKey(deviceA);
const publicB = rawPublicKey(deviceB);
const secret = Buffer.from('{"password":"aHVudGVyMg=="}');

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof SealedBoxError ? err.code : `other: ${String(err)}`;
  }
  return undefined;
}

test('the device the box is sealed to opens it, and the box holds no plaintext', (t) => {
  const box = sealBox(secret, publicA, 'Secret/db/0123456789abcdef');
  t.is(box.keyId, boxKeyId(publicA));
  t.deepEqual(openSealedBox(box, deviceA, 'Secret/db/0123456789abcdef'), secret);
  t.false(JSON.stringify(box).includes('aHVudGVyMg'));
});

test("another device's key cannot open it, even with the key id rewritten to its own", (t) => {
  const box = sealBox(secret, publicA, 'Secret/db/v1');
  t.is(code(() => openSealedBox(box, deviceB, 'Secret/db/v1')), 'wrong-recipient');
  t.is(code(() => openSealedBox({ ...box, keyId: boxKeyId(publicB) }, deviceB, 'Secret/db/v1')), 'corrupt');
});

test('a box opened as another object or version, or tampered with, is refused', (t) => {
  const box = sealBox(secret, publicA, 'Secret/db/v1');
  t.is(code(() => openSealedBox(box, deviceA, 'Secret/other/v1')), 'corrupt');
  t.is(code(() => openSealedBox(box, deviceA, 'Secret/db/v2')), 'corrupt');
  const ct = Buffer.from(box.ct, 'base64');
  ct[0] = (ct[0] ?? 0) ^ 1;
  t.is(code(() => openSealedBox({ ...box, ct: ct.toString('base64') }, deviceA, 'Secret/db/v1')), 'corrupt');
  t.is(code(() => openSealedBox({ ...box, epk: rawPublicKey(generateKeyPairSync('x25519').privateKey).toString('base64') }, deviceA, 'Secret/db/v1')), 'corrupt');
});

test('a seed makes sealing deterministic (an unchanged Secret gives an unchanged document); without one every box differs', (t) => {
  const seed = randomBytes(32);
  t.deepEqual(sealBox(secret, publicA, 'c', seed), sealBox(secret, publicA, 'c', seed));
  t.notDeepEqual(sealBox(secret, publicA, 'c'), sealBox(secret, publicA, 'c'));
  // The same seed for another recipient still gives a box only that recipient opens.
  const toB = sealBox(secret, publicB, 'c', seed);
  t.deepEqual(openSealedBox(toB, deviceB, 'c'), secret);
  t.is(code(() => openSealedBox(toB, deviceA, 'c')), 'wrong-recipient');
});

test('a key of the wrong length is refused with a code', (t) => {
  t.is(code(() => sealBox(secret, Buffer.alloc(31), 'c')), 'bad-key');
});
