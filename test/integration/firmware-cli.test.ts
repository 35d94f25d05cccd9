/**
 * `edgepilot firmware sign|push|trust|untrust|keys` end to end: the CLI as a child process
 * against a hub child process. Images are made here (no hardware build needed). The hub's own
 * checks are proven with uploads sent around the CLI.
 */
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createImage, flattenImage, writeIntelHex } from '../../src/firmware/index.js';
import { createManifest } from '../../src/firmware/manifest/manifest.js';
import { generateSigningKeyPair, signManifest, type SigningKeyPair } from '../../src/firmware/manifest/signing.js';
import { firmwareImageViewSchema, firmwareKeyViewSchema, listSchema, type FirmwareUpload } from '../../src/protocol/index.js';
import { startHubProcess, type HubHandle } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import type { CliResult } from '../support/processes.js';

const ctx = {} as { hub: HubHandle; dir: string; remove(): Promise<void> };
const main = generateSigningKeyPair();
const flagKey = generateSigningKeyPair();

test.before(async () => {
  const tmp = await makeTempDir('ep-firmware-cli-');
  ctx.dir = tmp.path;
  await writeKeyPair('main', main);
  await writeKeyPair('flag', flagKey);
  ctx.hub = await startHubProcess({ root: tmp.path, dataDir: join(tmp.path, 'hub'), extraArgs: ['--firmware-key', path('flag.pub')] });
  ctx.remove = async () => {
    await ctx.hub.proc.kill('SIGKILL');
    await tmp.remove();
  };
  const trusted = await cli(['firmware', 'trust', path('main.pub')]);
  if (trusted.code !== 0) throw new Error(`trust failed: ${trusted.stderr}`);
});

test.after.always(async () => ctx.remove?.());

function path(name: string): string {
  return join(ctx.dir, name);
}

function cli(args: string[]): Promise<CliResult> {
  return ctx.hub.cli(args);
}

async function writeKeyPair(name: string, pair: SigningKeyPair): Promise<void> {
  await writeFile(path(`${name}.key`), pair.privateKeyPem, { mode: 0o600 });
  await writeFile(path(`${name}.pub`), pair.publicKeyPem);
}

/** A raw binary of `length` bytes whose content depends on `seed`, so images differ. */
async function binFile(name: string, length: number, seed: number): Promise<string> {
  await writeFile(path(name), Uint8Array.from({ length }, (_, i) => (i * 31 + seed) & 0xff));
  return path(name);
}

/** One line on stderr, nothing on stdout, non-zero exit. */
function refused(t: { not(a: unknown, b: unknown): void; is(a: unknown, b: unknown, m?: string): void; regex(s: string, r: RegExp): void }, result: CliResult, expected: RegExp): void {
  t.not(result.code, 0);
  t.is(result.stdout, '');
  t.regex(result.stderr.trim(), expected);
  t.is(result.stderr.trim().split('\n').length, 1, 'one line');
}

async function storedImages() {
  const r = await cli(['firmware', 'list', '-o', 'json']);
  return listSchema(firmwareImageViewSchema).parse(JSON.parse(r.stdout)).items;
}

/** An upload made with the library, signed by a trusted key, that no CLI check has seen. */
function handMade(address: number, data: Uint8Array, target = 'stm32f103', version = '7.0.0', signer = main): FirmwareUpload {
  const image = createImage(data.length === 0 ? [] : [{ address, data }]);
  const manifest = createManifest(image, { target, version, format: 'bin', createdAt: '2026-01-01T00:00:00Z' });
  return { manifest, signature: signManifest(manifest, signer.privateKeyPem), image: Buffer.from(flattenImage(image).data).toString('base64') };
}

async function postUpload(upload: FirmwareUpload): Promise<{ status: number; message: string }> {
  const response = await fetch(`${ctx.hub.apiUrl}/v1/firmware`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.hub.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(upload),
  });
  return { status: response.status, message: ((await response.json()) as { message?: string }).message ?? '' };
}

test.serial('push names exactly what was stored, and refuses the same image under another target or version', async (t) => {
  const image = await binFile('app.bin', 2660, 1);
  const first = await cli(['firmware', 'push', image, '--target', 'stm32f103', '--version', '1.0.0', '--key', path('main.key')]);
  t.is(first.code, 0, first.stderr);
  const sha = /^stm32f103 1\.0\.0 stored as ([0-9a-f]{64}) \(2,660 bytes, key ([0-9a-f]{16})\)$/.exec(first.stdout.trim());
  t.truthy(sha, first.stdout);
  t.is(sha?.[2], main.keyId);

  const otherVersion = await cli(['firmware', 'push', image, '--target', 'stm32f103', '--version', '2.0.0', '--key', path('main.key')]);
  refused(t, otherVersion, new RegExp(`^error: this image \\(sha256 ${sha?.[1]?.slice(0, 12) ?? ''}\\) is already stored as stm32f103 1\\.0\\.0; .*stm32f103 2\\.0\\.0 was not stored$`));

  // Signed for the STC89C52: the image sits at the STM32's flash base, outside the 8051's flash.
  const otherTarget = await cli(['firmware', 'push', image, '--target', 'stc89c52', '--version', '2.0.0', '--key', path('main.key'), '--load-address', '0x08000000']);
  refused(t, otherTarget, /^error: .*app\.bin: segment at 0x08000000 is outside stc89c52 flash 0x00000000–0x00001FFF$/);

  const again = await cli(['firmware', 'push', image, '--target', 'stm32f103', '--version', '1.0.0', '--key', path('main.key')]);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout.trim(), new RegExp(`^stm32f103 1\\.0\\.0 was already stored as ${sha?.[1] ?? ''} \\(2,660 bytes, key ${main.keyId}, uploaded [^)]+\\); nothing changed$`));

  t.deepEqual((await storedImages()).map((i) => `${i.target} ${i.version}`), ['stm32f103 1.0.0']);
});

test.serial('two uploads of one version at once: one is stored, the other refused', async (t) => {
  const answers = await Promise.all([1, 2].map((fill) => postUpload(handMade(0x0800_0000, new Uint8Array(64).fill(fill), 'stm32f103', '1.5.0'))));
  t.deepEqual(answers.map((a) => a.status).sort(), [201, 409]);
  t.is((await storedImages()).filter((i) => i.version === '1.5.0').length, 1);
});

test.serial('an unknown target is refused at sign and at push, listing the known models', async (t) => {
  const image = await binFile('esp.bin', 100, 2);
  const expected = /^error: unknown target "esp32"; known MCU models: stm32f103, stc89c52$/;
  refused(t, await cli(['firmware', 'sign', image, '--target', 'esp32', '--version', '1.0.0', '--key', path('main.key'), '-o', path('esp.epfw')]), expected);
  refused(t, await cli(['firmware', 'push', image, '--target', 'esp32', '--version', '1.0.0', '--key', path('main.key'), '--load-address', '0']), expected);
  const hub = await postUpload(handMade(0x0800_0000, new Uint8Array(100).fill(7), 'esp32'));
  t.is(hub.status, 400);
  t.is(hub.message, 'unknown target "esp32"; known MCU models: stm32f103, stc89c52');
});

test.serial('an image larger than the flash is refused at sign, at push, and by the hub', async (t) => {
  const big = await binFile('big.bin', 2 * 1024 * 1024, 3);
  const expected = /^error: .*big\.bin: image is 2,097,152 bytes; stm32f103 has 65,536 bytes of flash$/;
  refused(t, await cli(['firmware', 'sign', big, '--target', 'stm32f103', '--version', '3.0.0', '--key', path('main.key'), '-o', path('big.epfw')]), expected);
  refused(t, await cli(['firmware', 'push', big, '--target', 'stm32f103', '--version', '3.0.0', '--key', path('main.key')]), expected);

  // A bundle made around the CLI's sign check: the CLI's push refuses it, and so does the hub.
  const upload = handMade(0x0800_0000, new Uint8Array(2 * 1024 * 1024).fill(3));
  await writeFile(path('hand-made.epfw'), JSON.stringify({ apiVersion: 'edgepilot.io/v1', kind: 'FirmwareBundle', ...upload }));
  refused(t, await cli(['firmware', 'push', path('hand-made.epfw')]), /^error: .*hand-made\.epfw: image is 2,097,152 bytes; stm32f103 has 65,536 bytes of flash$/);
  t.deepEqual(await postUpload(upload), { status: 400, message: 'image is 2,097,152 bytes; stm32f103 has 65,536 bytes of flash' });
  t.false((await storedImages()).some((i) => i.version === '3.0.0' || i.version === '7.0.0'));
});

test.serial('an empty image is refused, raw or Intel HEX, at sign and by the hub', async (t) => {
  await writeFile(path('empty.bin'), new Uint8Array(0));
  await writeFile(path('empty.hex'), ':00000001FF\n'); // only the end-of-file record
  refused(t, await cli(['firmware', 'sign', path('empty.bin'), '--target', 'stm32f103', '--version', '4.0.0', '--key', path('main.key'), '-o', path('e1.epfw')]), /^error: .*empty\.bin: image is empty/);
  refused(t, await cli(['firmware', 'sign', path('empty.hex'), '--target', 'stm32f103', '--version', '4.0.0', '--key', path('main.key'), '-o', path('e2.epfw')]), /^error: .*empty\.hex: image is empty/);
  refused(t, await cli(['firmware', 'push', path('empty.hex'), '--target', 'stm32f103', '--version', '4.0.0', '--key', path('main.key')]), /image is empty/);
  t.deepEqual(await postUpload(handMade(0, new Uint8Array(0))), { status: 400, message: 'image is empty: it has no data to flash' });
});

test.serial('a load address outside the flash, or off its base, is refused', async (t) => {
  const small = await binFile('small.bin', 100, 4);
  const sign = (extra: string[]) => cli(['firmware', 'sign', small, '--target', 'stm32f103', '--version', '5.0.0', '--key', path('main.key'), '-o', path(`s${extra.join('')}.epfw`), ...extra]);
  refused(t, await sign(['--load-address', '0x20000000']), /^error: .*small\.bin: segment at 0x20000000 is outside stm32f103 flash 0x08000000–0x0800FFFF$/);
  refused(t, await sign(['--load-address', '0x08000400']), /^error: .*small\.bin: image starts at 0x08000400; stm32f103 images must start at the flash base 0x08000000/);
  // A HEX file with a segment in RAM.
  const hex = writeIntelHex(createImage([{ address: 0x0800_0000, data: new Uint8Array(32).fill(1) }, { address: 0x2000_0000, data: new Uint8Array(4).fill(2) }]));
  await writeFile(path('ram.hex'), hex);
  refused(t, await cli(['firmware', 'sign', path('ram.hex'), '--target', 'stm32f103', '--version', '5.0.0', '--key', path('main.key'), '-o', path('ram.epfw')]), /segment at 0x20000000 is outside stm32f103 flash/);
  t.deepEqual(await postUpload(handMade(0x2000_0000, new Uint8Array(100).fill(9))), { status: 400, message: 'segment at 0x20000000 is outside stm32f103 flash 0x08000000–0x0800FFFF' });
  refused(t, await sign(['--version', 'v5']), /^error: version "v5" is not a semantic version \(like 1\.2\.0\)$/);
});

test.serial('trust: a file that is not a PEM public key gets a clear error, from the CLI and from the hub', async (t) => {
  await writeFile(path('garbage.pub'), 'garbage\n');
  refused(t, await cli(['firmware', 'trust', path('garbage.pub')]), /^error: .*garbage\.pub is not a PEM public key \(no -----BEGIN PUBLIC KEY----- line\)$/);
  refused(t, await cli(['firmware', 'trust', path('main.key')]), /^error: .*main\.key is a private key, not a public one/);
  const response = await fetch(`${ctx.hub.apiUrl}/v1/firmware/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ctx.hub.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ publicKeyPem: 'garbage' }),
  });
  t.is(response.status, 400);
  t.is(((await response.json()) as { message: string }).message, 'publicKeyPem is not a PEM public key (no -----BEGIN PUBLIC KEY----- line)');
});

test.serial('untrust removes a key durably; its signatures are then refused and its images no longer served', async (t) => {
  const old = generateSigningKeyPair();
  await writeKeyPair('old', old);
  t.is((await cli(['firmware', 'trust', path('old.pub')])).code, 0);
  const keys = async () => listSchema(firmwareKeyViewSchema).parse(JSON.parse((await cli(['firmware', 'keys', '-o', 'json'])).stdout)).items;
  const listed = (await keys()).find((k) => k.keyId === old.keyId);
  t.like(listed, { source: 'api' });
  t.regex(listed?.fingerprint ?? '', new RegExp(`^${old.keyId}[0-9a-f]{48}$`));
  t.truthy(listed?.addedAt);
  const table = await cli(['firmware', 'keys']);
  t.regex(table.stdout, new RegExp(`${old.keyId}\\s+api\\s+\\S+ ago\\s+${old.keyId}`));
  t.regex(table.stdout, new RegExp(`${flagKey.keyId}\\s+--firmware-key\\s+-`));

  const before = await binFile('old-1.bin', 1000, 5);
  const pushed = await cli(['firmware', 'push', before, '--target', 'stm32f103', '--version', '6.0.0', '--key', path('old.key'), '-o', 'json']);
  t.is(pushed.code, 0, pushed.stderr);
  const sha = (JSON.parse(pushed.stdout) as { sha256: string }).sha256;

  const removed = await cli(['firmware', 'untrust', path('old.pub')]);
  t.is(removed.code, 0, removed.stderr);
  t.is(removed.stdout.trim(), `hub no longer trusts firmware key ${old.keyId}; 1 stored image(s) signed by it are no longer served to gateways: stm32f103 6.0.0`);
  t.false((await keys()).some((k) => k.keyId === old.keyId));

  const after = await binFile('old-2.bin', 1000, 6);
  refused(t, await cli(['firmware', 'push', after, '--target', 'stm32f103', '--version', '6.0.1', '--key', path('old.key')]), new RegExp(`^error: unknown-key: manifest is signed by key ${old.keyId}, which is not trusted here`));
  const list = await cli(['firmware', 'list']);
  t.regex(list.stdout, new RegExp(`6\\.0\\.0 .* ${old.keyId} \\(untrusted\\)`));
  const manifest = await fetch(`${ctx.hub.apiUrl}/v1/firmware/manifest?sha256=${sha}`, { headers: { authorization: `Bearer ${ctx.hub.adminToken}` } });
  t.is(manifest.status, 409);
  t.regex(((await manifest.json()) as { message: string }).message, new RegExp(`signed by key ${old.keyId}, which this hub no longer trusts`));

  refused(t, await cli(['firmware', 'untrust', old.keyId]), new RegExp(`^error: the hub does not trust a firmware key ${old.keyId}$`));
  refused(t, await cli(['firmware', 'untrust', flagKey.keyId]), /^error: key [0-9a-f]{16} comes from --firmware-key .*flag\.pub; restart the hub without that flag to stop trusting it$/);
  refused(t, await cli(['firmware', 'untrust', path('garbage.pub')]), /is not a PEM public key/);

  // Durable: a restarted hub does not trust the removed key again.
  await ctx.hub.proc.kill('SIGTERM');
  ctx.hub = await startHubProcess({ root: ctx.dir, dataDir: join(ctx.dir, 'hub'), adminToken: ctx.hub.adminToken, extraArgs: ['--firmware-key', path('flag.pub')] });
  const afterRestart = (await keys()).map((k) => k.keyId).sort();
  t.deepEqual(afterRestart, [main.keyId, flagKey.keyId].sort());

  // The same image pushed again, signed by a trusted key, takes that signature and is served again.
  const resigned = await cli(['firmware', 'push', before, '--target', 'stm32f103', '--version', '6.0.0', '--key', path('main.key')]);
  t.is(resigned.code, 0, resigned.stderr);
  t.regex(resigned.stdout.trim(), new RegExp(`^stm32f103 6\\.0\\.0 was stored as ${sha} signed by a key the hub no longer trusts; it now carries the signature of key ${main.keyId}`));
  const served = await fetch(`${ctx.hub.apiUrl}/v1/firmware/manifest?sha256=${sha}`, { headers: { authorization: `Bearer ${ctx.hub.adminToken}` } });
  t.is(served.status, 200);
});
