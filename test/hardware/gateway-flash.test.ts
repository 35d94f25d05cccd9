// Flashing through the fleet: `edgepilot flash` → hub → gateway agent (RPC over MQTT) →
// AN3155 on the emulated STM32F103's pseudo-terminal. The gateway reaches the hub through a
// proxy that can tamper with what it is sent, to show what it refuses before the MCU is touched.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { firmwareManifestEnvelopeSchema } from '../../src/protocol/index.js';
import { join } from 'node:path';
import type { Bench, BenchMode } from '../../hardware/bench/bench.js';
import type { ManagedProcess } from '../support/processes.js';
import { startRig, stm32Image, type Rig } from './support/gateway-rig.js';
import { startTamperingProxy, type TamperingProxy } from './support/tampering-proxy.js';

const SERIAL = '00000000f1a5f1a5';
const MCU = `stm32f103-${SERIAL}`;

let rig: Rig | undefined;
let proxy: TamperingProxy | undefined;
let bench: Bench | undefined;
let gatewayId = '';
let gateway: ManagedProcess | undefined;
const images: Record<string, string> = {};

test.before(async () => {
  rig = await startRig('flash', [['stm32', '1.0.0'], ['stm32', '2.0.0'], ['stm32', '3.0.0'], ['stm32-silent', '9.9.9'], ['stc89c52', '1.0.0']]);
  proxy = await startTamperingProxy(rig.hub.apiUrl);
  // These tests are about the whole-image download (resume, tampering): deltas are
  // gateway-flash-delta.test.ts's.
  proxy.refuseDeltas(true);
  images['1.0.0'] = await rig.push(stm32Image(rig, '1.0.0'), 'stm32f103', '1.0.0');
  images['2.0.0'] = await rig.push(stm32Image(rig, '2.0.0'), 'stm32f103', '2.0.0');
  images['9.9.9'] = await rig.push(stm32Image(rig, '9.9.9', 'node-silent'), 'stm32f103', '9.9.9');
  images['stc'] = await rig.push(join(rig.build, 'stc89c52-tilt-1.0.0.ihx'), 'stc89c52', '1.0.0');
  // A second signing key the hub trusts but the gateway does not.
  const other = join(rig.root, 'other');
  if ((await rig.cli(['firmware', 'keygen', '--out', other])).code !== 0) throw new Error('keygen failed');
  if ((await rig.cli(['firmware', 'trust', `${other}.pub`])).code !== 0) throw new Error('trust failed');
  images['3.0.0'] = await rig.push(stm32Image(rig, '3.0.0'), 'stm32f103', '3.0.0', `${other}.key`);

  bench = await rig.startBench('stm', { mcu: 'stm32f103', image: stm32Image(rig, '1.0.0'), serial: SERIAL });
  const started = await rig.startGateway([bench.hostPath], [], proxy.url);
  gatewayId = started.deviceId;
  gateway = started.agent;
  await rig.waitForMcu('the STM32 online', (m) => m.id === MCU && m.online);
});

test.after.always(async () => {
  await proxy?.close();
  await rig?.cleanup();
});

function ready(): { rig: Rig; bench: Bench; proxy: TamperingProxy } {
  if (!rig || !bench || !proxy) throw new Error('setup failed');
  return { rig, bench, proxy };
}

function flash(image: string, ...extra: string[]): ReturnType<Rig['cli']> {
  return ready().rig.cli(['flash', `${gatewayId}/${MCU}`, '--image', image, ...extra]);
}

/** The flash contents from the start, as long as `file`. */
function flashStartsWith(file: string): boolean {
  const expected = readFileSync(file);
  return Buffer.from(ready().bench.flashImage().subarray(0, expected.length)).equals(expected);
}

async function events(): Promise<string> {
  return (await ready().rig.cli(['describe', 'device', gatewayId])).stdout;
}

test.serial('a new image that never identifies is rolled back to the previous one automatically and reported as failed', async (t) => {
  const { rig, bench } = ready();
  const boots: number[] = [];
  bench.on('booted', ({ bootNumber }) => boots.push(bootNumber));
  const result = await flash('9.9.9');
  t.not(result.code, 0, 'a rolled-back flash exits non-zero');
  t.regex(result.stderr, /error: .*rolled back to 1\.0\.0: 9\.9\.9 never identified/);
  t.regex(result.stderr, /write 100%/, 'the silent image was written');
  t.regex(result.stderr, /rollback 100%/, 'and the kept one written back');
  t.is(boots.length, 2, 'the emulator booted the silent image, then the restored one');
  t.true(flashStartsWith(stm32Image(rig, '1.0.0', 'node', 'bin')), 'v1 is back in flash');
  const mcu = await rig.waitForMcu('the MCU back on 1.0.0', (m) => m.id === MCU && m.online);
  t.is(mcu.firmwareVersion, '1.0.0');
  t.regex(await events(), /FirmwareRolledBack\s+.*rolled back to 1\.0\.0: 9\.9\.9 never identified/);
});

test.serial('flashing v1 → v2 through hub and gateway: progress reaches 100 %, the emulator restarts on v2, the hub shows 2.0.0', async (t) => {
  const { rig, bench, proxy } = ready();
  const modes: BenchMode[] = [];
  const commands: number[] = [];
  bench.on('mode', (mode) => modes.push(mode));
  bench.on('bootloader-command', (code) => commands.push(code));
  const downloadsBefore = proxy.downloads.length;
  proxy.tamperNext('cut-download'); // the first download attempt loses its connection half way
  const result = await flash('2.0.0');
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, new RegExp(`${gatewayId}/${MCU}: 1\\.0\\.0 → 2\\.0\\.0 \\(\\d+ bytes written, 0 retries\\)`));
  for (const step of ['download', 'erase', 'write', 'verify', 'boot']) t.regex(result.stderr, new RegExp(`^${step} 100%`, 'm'), `${step} reaches 100 %`);
  const ranges = proxy.downloads.slice(downloadsBefore);
  t.is(ranges[0], '', 'the first attempt asks for the whole image');
  t.regex(ranges[1] ?? '', /^bytes=\d+-$/, 'the second resumes where the cut left it');
  t.deepEqual(modes, ['bootloader', 'app'], 'into the bootloader and out again with Go');
  // The bench's default stm32f103 bootloader is the F10x ROM (v2.2): Erase 0x43, no 0x44.
  t.true(commands.includes(0x43), 'erased with Erase (0x43)');
  t.false(commands.includes(0x44), 'never Extended Erase');
  t.true(commands.includes(0x02), 'Get ID names the chip');
  t.true(flashStartsWith(stm32Image(rig, '2.0.0', 'node', 'bin')), 'v2 is in flash');
  const mcu = await rig.waitForMcu('the hub showing 2.0.0', (m) => m.id === MCU && m.online && m.firmwareVersion === '2.0.0');
  t.is(mcu.gateway, gatewayId);
  t.regex(await events(), /FirmwareFlashed\s+.*1\.0\.0 → 2\.0\.0/);
});

test.serial('refusals before the MCU is touched: hash mismatch, bad signature, wrong target, downgrade without --force, untrusted key', async (t) => {
  const { rig, bench, proxy } = ready();
  const flashBefore = bench.flashImage();
  const commands: number[] = [];
  const modes: BenchMode[] = [];
  bench.on('bootloader-command', (code) => commands.push(code));
  bench.on('mode', (mode) => modes.push(mode));

  // Integrity first, with --force: it never overrides signature, hash or target.
  const downloads = proxy.downloads.length;
  proxy.tamperNext('image-byte');
  const tamperedImage = await flash('1.0.0', '--force');
  t.true(proxy.downloads.length > downloads, 'the image was fetched (and altered on the way)');
  t.not(tamperedImage.code, 0);
  t.regex(tamperedImage.stderr, /^error: .*refused 1\.0\.0 \(hash-mismatch\)/m);

  proxy.tamperNext('signature');
  const forged = await flash('1.0.0', '--force');
  t.not(forged.code, 0);
  t.regex(forged.stderr, /^error: .*refused 1\.0\.0 \(bad-signature\)/m);

  const wrongTarget = await flash(images['stc']?.slice(0, 12) ?? '');
  t.not(wrongTarget.code, 0);
  t.regex(wrongTarget.stderr, /^error: .*refused 1\.0\.0 \(wrong-target\): image is for stc89c52, MCU is stm32f103/m);

  const downgrade = await flash('1.0.0');
  t.not(downgrade.code, 0);
  t.regex(downgrade.stderr, /^error: .*refused 1\.0\.0 \(downgrade\): 1\.0\.0 is older than the running 2\.0\.0; use --force/m);

  const untrusted = await flash('3.0.0');
  t.not(untrusted.code, 0);
  t.regex(untrusted.stderr, /^error: .*refused 3\.0\.0 \(unknown-key\)/m);

  t.true(Buffer.from(bench.flashImage()).equals(Buffer.from(flashBefore)), 'the flash is unchanged');
  t.deepEqual(commands, [], 'no bootloader command was sent');
  t.deepEqual(modes, [], 'the MCU never left its application');
  const mcu = await rig.waitForMcu('the MCU still on 2.0.0', (m) => m.id === MCU);
  t.like(mcu, { online: true, firmwareVersion: '2.0.0' });
  t.regex(await events(), /FirmwareRefused/);
  t.true(gateway?.running);
});

test.serial('--force allows a downgrade', async (t) => {
  const { rig } = ready();
  const result = await flash('1.0.0', '--force');
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /2\.0\.0 → 1\.0\.0/);
  // The gateway flashed 2.0.0 itself and the running CRC-32 shows it is still there: only changed pages are written.
  t.regex(result.stderr, /\d+ page\(s\) differ from the kept 2\.0\.0, \d+ unchanged: writing only those/);
  const written = Number(/\((\d+) bytes written/.exec(result.stdout)?.[1]);
  t.true(written > 0 && written < readFileSync(stm32Image(rig, '1.0.0', 'node', 'bin')).length, `${written} bytes written`);
  t.true(flashStartsWith(stm32Image(rig, '1.0.0', 'node', 'bin')));
  await rig.waitForMcu('the hub showing 1.0.0', (m) => m.id === MCU && m.online && m.firmwareVersion === '1.0.0');
});

test.serial('--verify readback reads the flash back instead of asking the firmware for its CRC-32', async (t) => {
  const { rig, bench } = ready();
  const commands: number[] = [];
  bench.on('bootloader-command', (code) => commands.push(code));
  const result = await flash('2.0.0', '--verify', 'readback');
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /1\.0\.0 → 2\.0\.0/);
  t.regex(result.stderr, /^verify 100%/m);
  t.true(commands.filter((code) => code === 0x11).length >= 2, 'Read Memory used to verify');
  t.true(flashStartsWith(stm32Image(rig, '2.0.0', 'node', 'bin')));
});

test.serial('firmware downloads need device credentials (or the admin token) and honour Range', async (t) => {
  const { rig } = ready();
  const identity = JSON.parse(readFileSync(join(rig.root, 'gateway', 'identity.json'), 'utf8')) as { deviceId: string; password: string };
  const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const sha = images['1.0.0'] ?? '';
  const url = `${rig.hub.apiUrl}/v1/firmware/download?sha256=${sha}`;
  const v1 = readFileSync(stm32Image(rig, '1.0.0', 'node', 'bin'));

  t.is((await fetch(url)).status, 401);
  t.is((await fetch(url, { headers: { authorization: basic(identity.deviceId, 'not-the-password-of-this-device-at-all') } })).status, 401);
  const whole = await fetch(url, { headers: { authorization: basic(identity.deviceId, identity.password) } });
  t.is(whole.status, 200);
  t.is(whole.headers.get('accept-ranges'), 'bytes');
  t.true(Buffer.from(await whole.arrayBuffer()).equals(v1));
  const part = await fetch(url, { headers: { authorization: basic(identity.deviceId, identity.password), range: 'bytes=100-199' } });
  t.is(part.status, 206);
  t.is(part.headers.get('content-range'), `bytes 100-199/${v1.length}`);
  t.true(Buffer.from(await part.arrayBuffer()).equals(v1.subarray(100, 200)));
  const beyond = await fetch(url, { headers: { authorization: `Bearer ${rig.hub.adminToken}`, range: `bytes=${v1.length}-` } });
  t.is(beyond.status, 416);
  const manifest = await fetch(`${rig.hub.apiUrl}/v1/firmware/manifest?sha256=${sha}`, { headers: { authorization: basic(identity.deviceId, identity.password) } });
  t.is(firmwareManifestEnvelopeSchema.parse(await manifest.json()).manifest.version, '1.0.0');
  t.is((await fetch(`${rig.hub.apiUrl}/v1/firmware/manifest?sha256=${'0'.repeat(64)}`, { headers: { authorization: `Bearer ${rig.hub.adminToken}` } })).status, 404);
});
