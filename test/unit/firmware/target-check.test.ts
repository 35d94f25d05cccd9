import test from 'ava';
import fc from 'fast-check';
import { createImage, type FirmwareImage } from '../../../src/firmware/image/image.js';
import { publicKeyProblem } from '../../../src/firmware/manifest/public-key.js';
import { generateSigningKeyPair, keyFingerprint, keyIdOf } from '../../../src/firmware/manifest/signing.js';
import { flashGeometryFor } from '../../../src/firmware/update/flash-targets.js';
import { assertTargetFits, labelProblem, TargetCheckError, targetProblem } from '../../../src/firmware/update/target-check.js';
import { generateKeyPairSync } from 'node:crypto';

const at = (address: number, length: number, fill = 0x5a): FirmwareImage => createImage([{ address, data: new Uint8Array(length).fill(fill) }]);
const check = (image: FirmwareImage, target = 'stm32f103', version = '1.0.0') => targetProblem({ target, version, image });

test('an image at the flash base that fits the flash is fine, for each known model', (t) => {
  t.is(check(at(0x0800_0000, 65_536)), undefined);
  t.is(check(createImage([{ address: 0x0800_0000, data: new Uint8Array(16) }, { address: 0x0800_F000, data: new Uint8Array(16) }])), undefined);
  t.is(check(at(0, 8192), 'stc89c52'), undefined);
  t.is(check(at(0x0800_0000, 100), ' STM32F103 '), undefined, 'model strings compare like IDENTITY does');
});

test('each problem has its code and one clear line', (t) => {
  t.deepEqual(check(at(0x0800_0000, 100), 'esp32'), { code: 'unknown-target', message: 'unknown target "esp32"; known MCU models: stm32f103, stc89c52' });
  t.deepEqual(check(at(0x0800_0000, 100), 'stm32f103', 'v1'), { code: 'bad-version', message: 'version "v1" is not a semantic version (like 1.2.0)' });
  t.deepEqual(check({ segments: [] }), { code: 'empty-image', message: 'image is empty: it has no data to flash' });
  t.deepEqual(check(at(0x0800_0000, 2 * 1024 * 1024)), { code: 'too-large', message: 'image is 2,097,152 bytes; stm32f103 has 65,536 bytes of flash' });
  t.deepEqual(check(at(0x2000_0000, 100)), { code: 'outside-flash', message: 'segment at 0x20000000 is outside stm32f103 flash 0x08000000–0x0800FFFF' });
  t.deepEqual(check(at(0x0800_FF00, 512)), {
    code: 'outside-flash',
    message: 'segment at 0x0800FF00 (512 bytes) runs past the end of stm32f103 flash 0x08000000–0x0800FFFF',
  });
  t.deepEqual(check(at(0x0800_0400, 8)), {
    code: 'not-at-flash-base',
    message: 'image starts at 0x08000400; stm32f103 images must start at the flash base 0x08000000 (the vector table the bootloader jumps to)',
  });
  t.is(check(at(0x0800_0000, 100), 'stc89c52')?.code, 'outside-flash', 'an STM32 image signed for the STC89C52');
  t.is(check(at(0, 9000), 'stc89c52')?.message, 'image is 9,000 bytes; stc89c52 has 8,192 bytes of flash');
});

test('a HEX file with data in RAM is reported as outside the flash, not as hundreds of megabytes', (t) => {
  const image = createImage([{ address: 0x0800_0000, data: new Uint8Array(64) }, { address: 0x2000_0000, data: new Uint8Array(4) }]);
  t.is(check(image)?.message, 'segment at 0x20000000 is outside stm32f103 flash 0x08000000–0x0800FFFF');
});

test('labels are checked before the image; assertTargetFits throws a typed error', (t) => {
  t.is(labelProblem('esp32', '1.0.0')?.code, 'unknown-target');
  t.is(labelProblem('stm32f103', '1.0')?.code, 'bad-version');
  t.is(labelProblem('stm32f103', '1.0.0-rc.1+build.5'), undefined);
  const error = t.throws(() => assertTargetFits({ target: 'stm32f103', version: '1.0.0', image: at(0x2000_0000, 4) }), { instanceOf: TargetCheckError });
  t.is(error?.code, 'outside-flash');
  t.notThrows(() => assertTargetFits({ target: 'stm32f103', version: '1.0.0', image: at(0x0800_0000, 4) }));
});

test('property: an image passes exactly when it starts at the base and ends inside the flash', (t) => {
  const stm32 = flashGeometryFor('stm32f103');
  if (!stm32) return t.fail('no geometry');
  fc.assert(
    fc.property(fc.integer({ min: 0x07ff_0000, max: 0x0801_0000 }), fc.integer({ min: 1, max: 70_000 }), (address, length) => {
      const inside = address === stm32.flashBase && address + length <= stm32.flashBase + stm32.flashSize;
      return (check(at(address, length)) === undefined) === inside;
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('public keys: Ed25519 PEM public keys only, and the problem named', (t) => {
  const pair = generateSigningKeyPair();
  t.is(publicKeyProblem(pair.publicKeyPem), undefined);
  t.is(publicKeyProblem('garbage\n')?.code, 'not-pem');
  t.is(publicKeyProblem('garbage\n')?.message, 'not a PEM public key (no -----BEGIN PUBLIC KEY----- line)');
  t.is(publicKeyProblem(pair.privateKeyPem)?.code, 'private-key');
  t.is(publicKeyProblem('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')?.code, 'unreadable');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  t.is(publicKeyProblem(rsa)?.code, 'not-ed25519');
  t.is(keyIdOf(pair.publicKeyPem), keyFingerprint(pair.publicKeyPem).slice(0, 16));
  t.regex(keyFingerprint(pair.publicKeyPem), /^[0-9a-f]{64}$/);
});
