import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../../../src/common/log.js';
import { createImage, flattenImage } from '../../../src/firmware/image/image.js';
import { createManifest } from '../../../src/firmware/manifest/manifest.js';
import { generateSigningKeyPair, signManifest } from '../../../src/firmware/manifest/signing.js';
import { byteRange } from '../../../src/hub/firmware/byte-range.js';
import { FirmwareStore, FirmwareVersionTakenError, type StoredFirmware } from '../../../src/hub/firmware/firmware-store.js';
import { TrustedKeyError, TrustedKeys } from '../../../src/hub/firmware/trusted-keys.js';
import { checkUpload } from '../../../src/hub/firmware/upload-check.js';
import { resolveImage } from '../../../src/hub/mcus/image-resolution.js';
import { mcuViews } from '../../../src/hub/mcus/mcu-views.js';
import type { DeviceRecord } from '../../../src/hub/store/records.js';
import type { FirmwareUpload, McuTelemetry } from '../../../src/protocol/index.js';
import { gatewayFacts } from '../../support/facts-fixture.js';
import { makeTempDir } from '../../support/paths.js';

const quiet = createLogger('test', 'error', () => undefined);
const signer = generateSigningKeyPair();

function upload(version: string, fill: number, target = 'stm32f103'): FirmwareUpload {
  const image = createImage([{ address: 0x0800_0000, data: new Uint8Array(512).fill(fill) }]);
  const manifest = createManifest(image, { target, version, format: 'hex', createdAt: '2026-01-01T00:00:00Z' });
  return { manifest, signature: signManifest(manifest, signer.privateKeyPem), image: Buffer.from(flattenImage(image).data).toString('base64') };
}

function stored(u: FirmwareUpload): StoredFirmware {
  return { manifest: u.manifest, signature: u.signature, uploadedAt: '2026-01-02T00:00:00.000Z' };
}

test('HTTP Range: one range, open-ended and suffix forms; several ranges get the whole image', (t) => {
  t.deepEqual(byteRange(undefined, 100), { kind: 'whole' });
  t.deepEqual(byteRange('bytes=10-19', 100), { kind: 'partial', start: 10, end: 19 });
  t.deepEqual(byteRange('bytes=50-', 100), { kind: 'partial', start: 50, end: 99 });
  t.deepEqual(byteRange('bytes=90-200', 100), { kind: 'partial', start: 90, end: 99 });
  t.deepEqual(byteRange('bytes=-10', 100), { kind: 'partial', start: 90, end: 99 });
  t.deepEqual(byteRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  t.deepEqual(byteRange('bytes=20-10', 100), { kind: 'unsatisfiable' });
  t.deepEqual(byteRange('bytes=0-1,5-6', 100), { kind: 'whole' });
  t.deepEqual(byteRange('items=0-1', 100), { kind: 'whole' });
});

test('uploads are checked against the trusted keys, and a version gets one image', (t) => {
  const good = upload('1.0.0', 0x11);
  const trusted = [signer.publicKeyPem];
  const none = { isTrusted: () => true };
  t.like(checkUpload(good, trusted, none), { ok: true, action: 'store' });
  t.like(checkUpload(good, trusted, { ...none, sameImage: stored(good), sameVersionSha: good.manifest.sha256 }), { ok: true, action: 'unchanged' }, 'the same image again is fine');
  t.like(checkUpload(good, trusted, { ...none, sameVersionSha: 'f'.repeat(64) }), { ok: false, status: 409, code: 'version-taken' });
  t.like(checkUpload(good, [], none), { ok: false, status: 400, code: 'no-trusted-keys' });
  const untrusted = checkUpload(good, [generateSigningKeyPair().publicKeyPem], none);
  t.true(!untrusted.ok && /unknown-key/.test(untrusted.message));
  const tampered = { ...good, image: Buffer.from(new Uint8Array(512).fill(0x12)).toString('base64') };
  const refused = checkUpload(tampered, trusted, none);
  t.true(!refused.ok && /hash-mismatch/.test(refused.message));
});

test('an image already stored under another target or version is refused, naming what is stored', (t) => {
  const first = upload('1.0.0', 0x44);
  const sameBytesNewVersion = upload('1.0.1', 0x44);
  t.is(sameBytesNewVersion.manifest.sha256, first.manifest.sha256);
  const verdict = checkUpload(sameBytesNewVersion, [signer.publicKeyPem], { sameImage: stored(first), isTrusted: () => true });
  t.like(verdict, { ok: false, status: 409, code: 'image-taken' });
  t.true(!verdict.ok && /already stored as stm32f103 1\.0\.0; .* stm32f103 1\.0\.1 was not stored/.test(verdict.message));
  const reSigned = checkUpload(first, [signer.publicKeyPem], { sameImage: stored(first), isTrusted: () => false });
  t.like(reSigned, { ok: true, action: 're-sign' }, 'a stored image whose key was removed takes the new trusted signature');
});

test('the hub checks uploads against the board profile, whatever the CLI did', (t) => {
  const signed = (address: number, data: Uint8Array, target = 'stm32f103'): FirmwareUpload => {
    const image = createImage([{ address, data }]);
    const manifest = createManifest(image, { target, version: '1.0.0', format: 'bin', createdAt: '2026-01-01T00:00:00Z' });
    return { manifest, signature: signManifest(manifest, signer.privateKeyPem), image: Buffer.from(flattenImage(image).data).toString('base64') };
  };
  const code = (u: FirmwareUpload): string => {
    const v = checkUpload(u, [signer.publicKeyPem], { isTrusted: () => true });
    return v.ok ? 'ok' : v.code;
  };
  t.is(code(signed(0x0800_0000, new Uint8Array(2 * 1024 * 1024))), 'too-large');
  t.is(code(signed(0x2000_0000, new Uint8Array(100))), 'outside-flash');
  t.is(code(signed(0x0800_0000, new Uint8Array(100), 'esp32')), 'unknown-target');
  t.is(code(signed(0x0800_0000, new Uint8Array(100), 'stc89c52')), 'outside-flash');
  t.is(code(signed(0x0000_0000, new Uint8Array(100), 'stc89c52')), 'ok');
  const empty = createManifest({ segments: [] }, { target: 'stm32f103', version: '1.0.0', format: 'bin', createdAt: '2026-01-01T00:00:00Z' });
  t.is(code({ manifest: empty, signature: signManifest(empty, signer.privateKeyPem), image: '' }), 'empty-image');
});

test('the store is content-addressed, survives a reopen, and skips damaged entries', async (t) => {
  const tmp = await makeTempDir();
  t.teardown(() => tmp.remove());
  const store = await FirmwareStore.open(tmp.path, quiet);
  const one = upload('1.0.0', 0x22);
  const two = upload('2.0.0', 0x33);
  t.is(await store.put(stored(one), Buffer.from(one.image, 'base64')), 'created');
  t.is(await store.put(stored(one), Buffer.from(one.image, 'base64')), 'exists');
  t.is(await store.put(stored(two), Buffer.from(two.image, 'base64')), 'created');
  await writeFile(join(tmp.path, `${two.manifest.sha256}.bin`), 'short'); // damaged on disk
  await writeFile(join(tmp.path, `${'a'.repeat(64)}.json`), '{"manifest": '); // torn
  const reopened = await FirmwareStore.open(tmp.path, quiet);
  t.deepEqual(reopened.list().map((f) => f.manifest.version), ['1.0.0']);
  t.is(reopened.findVersion('STM32F103', '1.0.0')?.manifest.sha256, one.manifest.sha256);
  t.is(reopened.imagePath(one.manifest.sha256), join(tmp.path, `${one.manifest.sha256}.bin`));
});

test('the store itself refuses a second image for a target and version (lowdb hub: not only the route\'s check), whatever the letters of the target', async (t) => {
  const tmp = await makeTempDir();
  t.teardown(() => tmp.remove());
  const store = await FirmwareStore.open(tmp.path, quiet);
  const one = upload('4.0.0', 0x41);
  const other = upload('4.0.0', 0x42, 'STM32F103');
  t.is(await store.put(stored(one), Buffer.from(one.image, 'base64')), 'created');
  const refused = await t.throwsAsync(store.put(stored(other), Buffer.from(other.image, 'base64')), { instanceOf: FirmwareVersionTakenError });
  t.is(refused?.code, 'FirmwareVersionTaken');
  t.regex(refused?.message ?? '', /STM32F103 4\.0\.0 already exists with another image/);
  t.deepEqual(store.list().map((f) => f.manifest.sha256), [one.manifest.sha256], 'one image');
});

test('--image resolves a sha prefix whatever its target, or a version of the MCU model', (t) => {
  const images = [stored(upload('1.0.0', 1)), stored(upload('2.0.0', 2)), stored(upload('1.0.0', 3, 'stc89c52'))];
  const stc = images[2];
  const byVersion = resolveImage('2.0.0', 'stm32f103', images);
  t.true(byVersion.ok && byVersion.entry.manifest.version === '2.0.0');
  t.true(resolveImage('v1.0.0', 'stc89c52', images).ok);
  const bySha = resolveImage(stc?.manifest.sha256.slice(0, 10) ?? '', 'stm32f103', images);
  t.true(bySha.ok && bySha.entry.manifest.target === 'stc89c52', 'the gateway, not the hub, refuses a wrong target');
  const missing = resolveImage('3.0.0', 'stm32f103', images);
  t.true(!missing.ok && /available: 1\.0\.0, 2\.0\.0/.test(missing.message));
});

test('get mcus: MCUs from the gateways\' facts, offline with their gateway, with the last telemetry', (t) => {
  const mcu = { id: 'stm32f103-01', model: 'stm32f103', application: 'env-node', serial: '01', firmwareVersion: '1.0.0', port: '/dev/ttyUSB0', online: true };
  const device = (id: string, state: 'online' | 'offline'): DeviceRecord => ({
    id,
    hardwareId: id,
    hostname: id,
    labels: {},
    taints: [],
    unschedulable: false,
    credentialHash: '',
    registeredAt: '2026-01-01T00:00:00.000Z',
    joinedWithToken: 't',
    status: { state, reason: 'connected', agentVersion: '0.1.0', bootId: 'b', sessionId: 's', since: '2026-01-01T00:00:00.000Z' },
    facts: gatewayFacts({ mcus: [mcu] }),
  });
  const last: McuTelemetry = { time: '2026-01-01T00:00:01.000Z', mcu: mcu.id, model: 'stm32f103', uptimeMs: 5, sampleIndex: 1, channels: [] };
  const views = mcuViews([device('gw-b', 'offline'), device('gw-a', 'online')], (g) => (g === 'gw-a' ? last : undefined));
  t.deepEqual(views.map((v) => [v.gateway, v.online, v.lastTelemetry?.sampleIndex ?? null]), [['gw-a', true, 1], ['gw-b', false, null]]);
});

test('trusted keys: added and removed durably; a --firmware-key key cannot be removed through the API', async (t) => {
  const tmp = await makeTempDir();
  t.teardown(() => tmp.remove());
  const flag = generateSigningKeyPair();
  const flagFile = join(tmp.path, 'flag.pub');
  await writeFile(flagFile, flag.publicKeyPem);
  const folder = join(tmp.path, 'keys');
  const keys = await TrustedKeys.open(folder, [flagFile]);
  const added = await keys.add(signer.publicKeyPem, new Date('2026-01-01T00:00:00Z'));
  t.like(added, { keyId: signer.keyId, source: 'api', addedAt: '2026-01-01T00:00:00.000Z' });
  t.is(added.fingerprint.slice(0, 16), signer.keyId);
  const garbage = await keys.add('garbage', new Date()).catch((err: unknown) => err);
  t.true(garbage instanceof TrustedKeyError && garbage.code === 'not-pem');
  t.deepEqual((await TrustedKeys.open(folder, [flagFile])).list().map((k) => k.keyId).sort(), [flag.keyId, signer.keyId].sort());

  await keys.remove(signer.keyId);
  t.false(keys.has(signer.keyId));
  t.deepEqual((await TrustedKeys.open(folder, [flagFile])).list().map((k) => k.keyId), [flag.keyId], 'the removal survives a reopen');
  const unknown = await keys.remove(signer.keyId).catch((err: unknown) => err);
  t.true(unknown instanceof TrustedKeyError && unknown.code === 'unknown-key');
  const fromFlag = await keys.remove(flag.keyId).catch((err: unknown) => err);
  t.true(fromFlag instanceof TrustedKeyError && fromFlag.code === 'flag-key');
  t.true(keys.has(flag.keyId));
});
