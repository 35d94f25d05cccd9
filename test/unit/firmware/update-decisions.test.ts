import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createImage, flattenImage } from '../../../src/firmware/image/image.js';
import { createManifest } from '../../../src/firmware/manifest/manifest.js';
import { generateSigningKeyPair, signManifest } from '../../../src/firmware/manifest/signing.js';
import { admitFirmware, fitProblem, type AdmissionInput } from '../../../src/firmware/update/admission.js';
import { trimErased } from '../../../src/firmware/update/bootloader-access.js';
import { flashGeometryFor, knownFlashTargets } from '../../../src/firmware/update/flash-targets.js';
import { mcuIdFor } from '../../../src/firmware/update/mcu-id.js';
import { eraseModeFor, judgeBoot, planBackup, rollbackMessage } from '../../../src/firmware/update/update-policy.js';
import { repoRoot } from '../../support/paths.js';

const stm32 = flashGeometryFor('stm32f103');
const image = createImage([{ address: 0x0800_0000, data: Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff) }]);
const bytes = flattenImage(image).data;
const signer = generateSigningKeyPair();
const stranger = generateSigningKeyPair();
const manifest = createManifest(image, { target: 'stm32f103', version: '2.0.0', format: 'hex', createdAt: '2026-01-01T00:00:00Z' });
const signature = signManifest(manifest, signer.privateKeyPem);

function admit(overrides: Partial<AdmissionInput> = {}): ReturnType<typeof admitFirmware> {
  return admitFirmware({ manifest, signature, bytes, trustedKeys: [signer.publicKeyPem], model: 'stm32f103', geometry: stm32, currentVersion: '1.0.0', ...overrides });
}

function reason(result: ReturnType<typeof admitFirmware>): string {
  return result.ok ? 'ok' : result.reason;
}

test('an upgrade signed by a trusted key, for this model, that fits the flash is admitted', (t) => {
  const result = admit();
  t.true(result.ok);
  if (result.ok) {
    t.is(result.manifest.version, '2.0.0');
    t.is(result.keyId, signer.keyId);
    t.deepEqual(flattenImage(result.image).data, bytes);
  }
});

test('refusals, each with its reason', (t) => {
  const tampered = bytes.slice();
  tampered[10] = (tampered[10] ?? 0) ^ 1;
  const forged = { ...signature, value: Buffer.from(Buffer.from(signature.value, 'base64').map((b, i) => (i === 0 ? b ^ 1 : b))).toString('base64') };
  t.is(reason(admit({ trustedKeys: [] })), 'no-trusted-keys');
  t.is(reason(admit({ trustedKeys: [stranger.publicKeyPem] })), 'unknown-key');
  t.is(reason(admit({ signature: forged })), 'bad-signature');
  t.is(reason(admit({ bytes: tampered })), 'hash-mismatch');
  t.is(reason(admit({ bytes: bytes.subarray(0, 100) })), 'size-mismatch');
  t.is(reason(admit({ bytes: new Uint8Array(0) })), 'bad-image');
  t.is(reason(admit({ model: 'stc89c52', geometry: flashGeometryFor('stc89c52') })), 'wrong-target');
  t.is(reason(admit({ model: 'atmega328p', geometry: undefined })), 'unknown-model');
  t.is(reason(admit({ currentVersion: '2.1.0' })), 'downgrade');
  t.is(reason(admit({ currentVersion: '2.0.0' })), 'same-version');
});

test('--force overrides version checks only, and says so', (t) => {
  const forced = admit({ currentVersion: '3.0.0', force: true });
  t.true(forced.ok && forced.forced === 'downgrade');
  t.is(reason(admit({ force: true, trustedKeys: [stranger.publicKeyPem] })), 'unknown-key');
  t.is(reason(admit({ force: true, model: 'stc89c52', geometry: flashGeometryFor('stc89c52') })), 'wrong-target');
  t.true(admit({ currentVersion: undefined }).ok, 'an MCU that does not identify has no version to protect');
});

test('an image must start at the flash base and fit the flash', (t) => {
  if (!stm32) return t.fail('no geometry');
  t.is(fitProblem(image, stm32), undefined);
  t.regex(fitProblem(createImage([{ address: 0x0800_0400, data: new Uint8Array(8) }]), stm32) ?? '', /starts at 0x08000400/);
  t.regex(fitProblem(createImage([{ address: 0x0800_0000, data: new Uint8Array(65 * 1024) }]), stm32) ?? '', /image is 66,560 bytes; stm32f103 has 65,536 bytes of flash/);
  const big = createImage([{ address: 0x0800_0000, data: new Uint8Array(70_000) }]);
  const bigManifest = createManifest(big, { target: 'stm32f103', version: '2.0.0', format: 'bin', createdAt: '2026-01-01T00:00:00Z' });
  t.is(reason(admit({ manifest: bigManifest, signature: signManifest(bigManifest, signer.privateKeyPem), bytes: flattenImage(big).data })), 'does-not-fit');
});

test('flash geometry matches the board profiles in hardware/profiles', (t) => {
  const profiles = { stm32f103: 'stm32f103-node.json', stc89c52: 'stc89c52-tilt.json' } as const;
  for (const target of knownFlashTargets()) {
    const file = profiles[target.model as keyof typeof profiles];
    const profile = JSON.parse(readFileSync(join(repoRoot, 'hardware', 'profiles', file), 'utf8')) as {
      memory: { flash: { baseAddress: string; sizeBytes: number; pageSizeBytes: number } };
      firmware: { model: string };
    };
    t.is(profile.firmware.model, target.model);
    t.is(Number(profile.memory.flash.baseAddress), target.flashBase);
    t.is(profile.memory.flash.sizeBytes, target.flashSize);
    t.is(profile.memory.flash.pageSizeBytes, target.pageSize);
  }
  t.is(flashGeometryFor(' STM32F103 ')?.model, 'stm32f103');
});

test('backup plan: the kept image if it is what runs, a read-back otherwise, nothing if nothing is known', (t) => {
  t.deepEqual(planBackup('1.0.0', { version: '1.0.0', origin: 'flashed' }), { kind: 'use-kept' });
  t.deepEqual(planBackup('1.0.0', { version: '0.9.0', origin: 'flashed' }), { kind: 'read-back', version: '1.0.0' });
  t.deepEqual(planBackup('1.0.0', undefined), { kind: 'read-back', version: '1.0.0' });
  t.deepEqual(planBackup(undefined, { version: '0.9.0', origin: 'read-back' }), { kind: 'use-kept' });
  t.deepEqual(planBackup(undefined, undefined), { kind: 'none' });
});

test('boot verdict: only identifying with the flashed version counts as updated', (t) => {
  t.deepEqual(judgeBoot('2.0.0', { kind: 'identified', version: '2.0.0' }), { kind: 'updated' });
  t.deepEqual(judgeBoot('2.0.0', { kind: 'silent' }), { kind: 'roll-back', why: '2.0.0 never identified' });
  t.deepEqual(judgeBoot('2.0.0', { kind: 'identified', version: '1.0.0' }), { kind: 'roll-back', why: 'the MCU identified as 1.0.0 after flashing 2.0.0' });
  t.is(rollbackMessage('1.0.0', '2.0.0 never identified'), 'rolled back to 1.0.0: 2.0.0 never identified');
});

test('MCU ids are <model>-<serial>, topic- and folder-safe', (t) => {
  t.is(mcuIdFor({ model: 'stm32f103', serialNumber: '0123456789ABCDEF' }), 'stm32f103-0123456789abcdef');
  t.is(mcuIdFor({ model: 'STM32 F1/x+#', serialNumber: '00000000000000ff' }), 'stm32-f1-x-00000000000000ff');
  t.is(mcuIdFor({ model: '', serialNumber: '0000000000000001' }), 'mcu-0000000000000001');
});

test('a read-back keeps whole words and drops the erased tail', (t) => {
  t.deepEqual([...trimErased(Uint8Array.of(1, 2, 3, 4, 5, 0xff, 0xff, 0xff, 0xff, 0xff))], [1, 2, 3, 4, 5, 0xff, 0xff, 0xff]);
  t.deepEqual([...trimErased(new Uint8Array(16).fill(0xff))], [0xff, 0xff, 0xff, 0xff]);
});

test('erase: the pages the image covers, or one mass erase when that is every page', (t) => {
  const geometry = { flashBase: 0x0800_0000, flashSize: 64 * 1024, pageSize: 1024 };
  t.is(eraseModeFor({ start: 0x0800_0000, end: 0x0800_0a64 }, geometry), 'pages');
  t.is(eraseModeFor({ start: 0x0800_0000, end: 0x0801_0000 }, geometry), 'mass');
  t.is(eraseModeFor({ start: 0x0800_0000, end: 0x0800_fc01 }, geometry), 'mass', 'a byte into the last page needs every page');
});
