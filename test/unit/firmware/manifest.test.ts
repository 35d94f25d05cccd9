import { createHash, createPublicKey } from 'node:crypto';
import test from 'ava';
import { createImage } from '../../../src/firmware/image/image.js';
import { canonicalJson, createManifest, ManifestError, manifestProblem } from '../../../src/firmware/manifest/manifest.js';
import { compareSemver, parseSemver } from '../../../src/firmware/manifest/semver.js';
import { generateSigningKeyPair, keyIdOf, signManifest, verifyManifestSignature } from '../../../src/firmware/manifest/signing.js';
import type { VerifyFirmwareInput } from '../../../src/firmware/manifest/verify.js';
import { verifyFirmware } from '../../../src/firmware/manifest/verify.js';

const image = createImage([
  { address: 0x08000000, data: Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff) },
  { address: 0x08000400, data: Uint8Array.of(1, 2, 3, 4) },
]);
const signer = generateSigningKeyPair();
const other = generateSigningKeyPair();
const manifest = createManifest(image, { target: 'stm32f103', version: '1.2.0', format: 'hex', createdAt: new Date('2025-01-02T03:04:05Z') });
const signature = signManifest(manifest, signer.privateKeyPem);

function input(overrides: Partial<VerifyFirmwareInput> = {}): VerifyFirmwareInput {
  return {
    manifest,
    signature,
    image,
    trustedKeys: [other.publicKeyPem, signer.publicKeyPem],
    expectTarget: 'stm32f103',
    currentVersion: '1.1.0',
    ...overrides,
  };
}

test('createManifest records size, hash and load address of the flattened image', (t) => {
  t.is(manifest.size, 0x404);
  t.is(manifest.loadAddress, 0x08000000);
  t.is(manifest.createdAt, '2025-01-02T03:04:05.000Z');
  t.regex(manifest.sha256, /^[0-9a-f]{64}$/);
  t.is(manifestProblem(manifest), undefined);
});

test('createManifest refuses a bad manifest with a typed error whose problem needs no prefix stripped', (t) => {
  const err = t.throws(() => createManifest(image, { target: 'stm32f103', version: 'not a version', format: 'hex', createdAt: '2025-01-02T03:04:05Z' }), { instanceOf: ManifestError });
  t.is(err?.code, 'invalid-manifest');
  t.true(err instanceof TypeError, 'still a TypeError for callers that catch those');
  t.is(err?.message, `invalid manifest: ${err?.problem ?? ''}`);
  t.regex(err?.problem ?? '', /version/);
});

test('canonical JSON sorts keys at every level and has no whitespace', (t) => {
  t.is(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' }, u: undefined }), '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  t.is(canonicalJson(JSON.parse(canonicalJson(manifest)) as unknown), canonicalJson(manifest));
  t.throws(() => canonicalJson({ a: Number.NaN }));
});

test('key id is the first 16 hex digits of sha256 over the raw public key', (t) => {
  const jwk = createPublicKey(signer.publicKeyPem).export({ format: 'jwk' });
  const expected = createHash('sha256').update(Buffer.from(jwk.x ?? '', 'base64url')).digest('hex').slice(0, 16);
  t.is(signer.keyId, expected);
  t.is(keyIdOf(signer.publicKeyPem), expected);
  t.is(keyIdOf(signer.privateKeyPem), expected);
  t.is(signature.keyId, expected);
  t.is(Buffer.from(signature.value, 'base64').length, 64);
});

test('a signature survives re-serialisation with different key order', (t) => {
  const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(manifest).reverse()))) as unknown;
  t.true(verifyManifestSignature(reordered, signature, signer.publicKeyPem));
});

test('verifyFirmware accepts a valid upgrade', (t) => {
  const result = verifyFirmware(input());
  t.true(result.ok);
  if (result.ok) {
    t.is(result.keyId, signer.keyId);
    t.is(result.forced, undefined);
  }
});

test('unknown-key', (t) => {
  t.like(verifyFirmware(input({ trustedKeys: [other.publicKeyPem] })), {
    ok: false,
    reason: 'unknown-key',
    message: `manifest is signed by key ${signer.keyId}, which is not trusted here`,
  });
  t.like(verifyFirmware(input({ trustedKeys: ['not a pem', other.publicKeyPem] })), { ok: false, reason: 'unknown-key' });
});

test('bad-signature: tampered manifest, or a signature by another key', (t) => {
  t.like(verifyFirmware(input({ manifest: { ...manifest, version: '9.9.9' } })), { ok: false, reason: 'bad-signature' });
  const forged = { keyId: signer.keyId, value: signManifest(manifest, other.privateKeyPem).value };
  t.like(verifyFirmware(input({ signature: forged })), { ok: false, reason: 'bad-signature' });
  t.like(verifyFirmware(input({ signature: { keyId: signer.keyId, value: 'AAAA' } })), { ok: false, reason: 'bad-signature' });
});

test('invalid-manifest: well signed but malformed', (t) => {
  const bad = { ...manifest, version: 'latest' };
  t.like(verifyFirmware(input({ manifest: bad, signature: signManifest(bad, signer.privateKeyPem) })), {
    ok: false,
    reason: 'invalid-manifest',
    message: 'manifest is invalid: version "latest" is not a semantic version',
  });
});

test('size-mismatch', (t) => {
  const bigger = createImage([...image.segments, { address: 0x08000800, data: Uint8Array.of(0) }]);
  t.like(verifyFirmware(input({ image: bigger })), { ok: false, reason: 'size-mismatch', message: 'image is 2049 bytes, the manifest says 1028' });
});

test('hash-mismatch', (t) => {
  const flipped = createImage([{ address: 0x08000000, data: Uint8Array.from({ length: 0x404 }, () => 0xff) }]);
  t.like(verifyFirmware(input({ image: flipped })), { ok: false, reason: 'hash-mismatch' });
});

test('wrong-target', (t) => {
  t.like(verifyFirmware(input({ expectTarget: 'stc89c52' })), { ok: false, reason: 'wrong-target', message: 'image is for stm32f103, MCU is stc89c52' });
  t.like(verifyFirmware(input({ expectTarget: 'STM32F103' })), { ok: true });
  t.like(verifyFirmware(input({ expectTarget: 'stc89c52', force: true })), { ok: false, reason: 'wrong-target' });
});

test('downgrade, and force', (t) => {
  t.like(verifyFirmware(input({ currentVersion: '1.2.1' })), { ok: false, reason: 'downgrade', message: '1.2.0 is older than the running 1.2.1; use --force' });
  t.like(verifyFirmware(input({ currentVersion: '1.2.1', force: true })), { ok: true, forced: 'downgrade' });
});

test('the brief example downgrade message', (t) => {
  const old = createManifest(image, { target: 'stm32f103', version: '1.0.0', format: 'bin', createdAt: '2024-01-01T00:00:00Z' });
  const result = verifyFirmware(input({ manifest: old, signature: signManifest(old, signer.privateKeyPem), currentVersion: '1.2.0' }));
  t.like(result, { ok: false, reason: 'downgrade', message: '1.0.0 is older than the running 1.2.0; use --force' });
});

test('same-version, and force', (t) => {
  t.like(verifyFirmware(input({ currentVersion: '1.2.0' })), { ok: false, reason: 'same-version' });
  t.like(verifyFirmware(input({ currentVersion: '1.2.0', force: true })), { ok: true, forced: 'same-version' });
});

test('no known running version skips the version check', (t) => {
  t.like(verifyFirmware(input({ currentVersion: undefined })), { ok: true });
});

test('semver precedence follows semver.org §11', (t) => {
  const ordered = ['1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-alpha.beta', '1.0.0-beta', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.0.1', '1.1.0', '2.0.0', '10.0.0'];
  for (let i = 0; i + 1 < ordered.length; i++) {
    const a = ordered[i] ?? '';
    const b = ordered[i + 1] ?? '';
    t.true(compareSemver(a, b) < 0, `${a} < ${b}`);
    t.true(compareSemver(b, a) > 0, `${b} > ${a}`);
  }
  t.is(compareSemver('1.2.3+build.5', '1.2.3'), 0);
  t.is(parseSemver('01.2.3'), undefined);
  t.is(parseSemver('1.2'), undefined);
  t.throws(() => compareSemver('x', '1.0.0'), { instanceOf: TypeError });
});
