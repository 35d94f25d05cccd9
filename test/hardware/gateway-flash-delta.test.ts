// Firmware deltas through the fleet: `edgepilot flash` → hub → gateway agent, the gateway
// reaching the hub through a proxy that counts (and can damage) what it is sent. With the
// previous image kept, a one-function change (make stm32-changed) comes as a BSDF2 delta
// far smaller than the image; a damaged delta is caught and the whole image fetched.
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { Bench } from '../../hardware/bench/bench.js';
import { startRig, stm32Image, type Rig } from './support/gateway-rig.js';
import { startTamperingProxy, type TamperingProxy } from './support/tampering-proxy.js';

const SERIAL = '00000000de17a001';
const MCU = `stm32f103-${SERIAL}`;

let rig: Rig | undefined;
let proxy: TamperingProxy | undefined;
let bench: Bench | undefined;
let gatewayId = '';
const shas: Record<string, string> = {};

test.before(async () => {
  rig = await startRig('delta', [['stm32', '1.0.0'], ['stm32', '2.0.0'], ['stm32-changed', '2.0.1'], ['stm32', '3.0.0']]);
  proxy = await startTamperingProxy(rig.hub.apiUrl);
  shas['1.0.0'] = await rig.push(stm32Image(rig, '1.0.0'), 'stm32f103', '1.0.0');
  shas['2.0.0'] = await rig.push(stm32Image(rig, '2.0.0'), 'stm32f103', '2.0.0');
  await rig.push(stm32Image(rig, '2.0.1', 'node-changed'), 'stm32f103', '2.0.1');
  shas['3.0.0'] = await rig.push(stm32Image(rig, '3.0.0'), 'stm32f103', '3.0.0');
  bench = await rig.startBench('stm', { mcu: 'stm32f103', image: stm32Image(rig, '1.0.0'), serial: SERIAL });
  gatewayId = (await rig.startGateway([bench.hostPath], [], proxy.url)).deviceId;
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

async function flashCounting(version: string): Promise<{ code: number | null; stdout: string; stderr: string; image: number; delta: number }> {
  const { rig, proxy } = ready();
  const before = { ...proxy.bytesSent };
  const result = await rig.cli(['flash', `${gatewayId}/${MCU}`, '--image', version]);
  return { ...result, image: proxy.bytesSent.image - before.image, delta: proxy.bytesSent.delta - before.delta };
}

function flashHolds(file: string): boolean {
  const expected = readFileSync(file);
  return Buffer.from(ready().bench.flashImage().subarray(0, expected.length)).equals(expected);
}

test.serial('nothing kept yet: the whole image is downloaded', async (t) => {
  const { rig } = ready();
  const result = await flashCounting('2.0.0');
  t.is(result.code, 0, result.stderr);
  t.is(result.delta, 0, 'no delta without a kept image');
  t.is(result.image, readFileSync(stm32Image(rig, '2.0.0', 'node', 'bin')).length);
  t.true(flashHolds(stm32Image(rig, '2.0.0', 'node', 'bin')));
});

test.serial('a one-function change comes as a delta from the kept image: ≤ 15 % of the image, no image download, flashed and verified', async (t) => {
  const { rig } = ready();
  const full = readFileSync(stm32Image(rig, '2.0.1', 'node-changed', 'bin')).length;
  const result = await flashCounting('2.0.1');
  t.is(result.code, 0, result.stderr);
  t.is(result.image, 0, 'the image itself was not downloaded');
  t.true(result.delta > 0 && result.delta <= 0.15 * full, `delta ${result.delta} bytes of ${full} (${((100 * result.delta) / full).toFixed(1)} %)`);
  t.regex(result.stderr, new RegExp(`fetched 2\\.0\\.1 as a ${result.delta}-byte delta from the kept 2\\.0\\.0`));
  t.regex(result.stderr, /^download 100%/m);
  t.regex(result.stdout, /2\.0\.0 → 2\.0\.1/);
  t.true(flashHolds(stm32Image(rig, '2.0.1', 'node-changed', 'bin')));
  await rig.waitForMcu('the hub showing 2.0.1', (m) => m.id === MCU && m.online && m.firmwareVersion === '2.0.1');
  t.regex((await rig.cli(['describe', 'device', gatewayId])).stdout, new RegExp(`FirmwareFlashed\\s+.*2\\.0\\.0 → 2\\.0\\.1 .*fetched as a ${result.delta}-byte delta`));
  t.log(`delta ${result.delta} of ${full} bytes`);
});

test.serial('a damaged delta is refused after patching and the whole image fetched instead; the event says why', async (t) => {
  const { rig, proxy } = ready();
  proxy.tamperNext('delta-byte');
  const result = await flashCounting('3.0.0');
  t.is(result.code, 0, result.stderr);
  t.true(result.delta > 0, 'a delta was sent (and damaged on the way)');
  t.is(result.image, readFileSync(stm32Image(rig, '3.0.0', 'node', 'bin')).length, 'then the whole image');
  t.regex(result.stderr, /the delta from 2\.0\.1 does not apply|does not match the manifest's sha256/);
  t.regex(result.stderr, /fetched the whole image/);
  t.true(flashHolds(stm32Image(rig, '3.0.0', 'node', 'bin')));
  await rig.waitForMcu('the hub showing 3.0.0', (m) => m.id === MCU && m.online && m.firmwareVersion === '3.0.0');
  t.regex((await rig.cli(['describe', 'device', gatewayId])).stdout, /FirmwareDeltaRejected\s+.*fetched the whole 3\.0\.0 image instead/);
});

test.serial('the hub answers a delta only for stored images it may serve, and only with device credentials', async (t) => {
  const { rig } = ready();
  const sha = (v: string): string => shas[v] ?? '';
  const url = (from: string, to: string): string => `${rig.hub.apiUrl}/v1/firmware/delta?from=${from}&to=${to}`;
  const admin = { authorization: `Bearer ${rig.hub.adminToken}` };
  t.is((await fetch(url(sha('1.0.0'), sha('2.0.0')))).status, 401);
  const ok = await fetch(url(sha('1.0.0'), sha('2.0.0')), { headers: admin });
  t.is(ok.status, 200);
  t.is(ok.headers.get('content-type'), 'application/x-bsdf2');
  t.is(Buffer.from(await ok.arrayBuffer()).subarray(0, 5).toString(), 'BSDF2');
  const unknown = await fetch(url('0'.repeat(64), sha('2.0.0')), { headers: admin });
  t.is(unknown.status, 404);
  t.regex(((await unknown.json()) as { message: string }).message, /does not hold the base image/);
  t.is((await fetch(url(sha('2.0.0'), sha('2.0.0')), { headers: admin })).status, 400);
  t.is((await fetch(`${rig.hub.apiUrl}/v1/firmware/delta?from=nope&to=${sha('2.0.0')}`, { headers: admin })).status, 400);
});
