// Issue 8, must-show 3: the hardware-in-the-loop gate with the emulated STM32. A bench gateway
// (role=bench) and a fleet gateway, each with an emulated STM32F103 at 1.0.0; releases carrying
// only firmware. The silent firmware never identifies: the bench gateway rolls its MCU back, the
// gate fails, the rollout rolls back and the fleet gateway's MCU is never flashed. Good firmware
// passes the gate (the verdict is stored with the release's digest) and reaches the fleet.
import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { rolloutViewSchema, type RolloutView } from '../../src/protocol/index.js';
import type { Bench } from '../../hardware/bench/bench.js';
import { createJoinToken, startAgentProcess } from '../support/fleet.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { startRig, stm32Image, type Rig } from './support/gateway-rig.js';

const BENCH_SERIAL = '00000000be4c0001';
const FLEET_SERIAL = '00000000f1ee0001';
const mcuOf = (serial: string): string => `stm32f103-${serial}`;

const ctx = {} as { rig: Rig; benches: Bench[]; benchGw: string; fleetGw: string; fleetAgent: ManagedProcess; sha: Record<string, string> };

test.before(async () => {
  const rig = await startRig('gate', [['stm32', '1.0.0'], ['stm32', '2.0.0'], ['stm32-silent', '9.9.9']]);
  ctx.rig = rig;
  ctx.sha = {
    good: await rig.push(stm32Image(rig, '2.0.0'), 'stm32f103', '2.0.0'),
    silent: await rig.push(stm32Image(rig, '9.9.9', 'node-silent'), 'stm32f103', '9.9.9'),
  };
  const bench = await rig.startBench('bench', { mcu: 'stm32f103', image: stm32Image(rig, '1.0.0'), serial: BENCH_SERIAL });
  const fleet = await rig.startBench('fleet', { mcu: 'stm32f103', image: stm32Image(rig, '1.0.0'), serial: FLEET_SERIAL });
  ctx.benches = [bench, fleet];
  ctx.benchGw = (await rig.startGateway([bench.hostPath])).deviceId;
  // The rig names its one gateway; the fleet gateway gets a state folder and identity of its own.
  const fleetAgent = startAgentProcess({
    name: 'fleet-gateway',
    root: rig.root,
    hubUrl: rig.hub.apiUrl,
    joinToken: await createJoinToken(rig.hub),
    stateDir: join(rig.root, 'fleet-gateway'),
    hardwareId: `fleet-gateway-${rig.root.slice(-6)}`,
    extraArgs: ['--mcu-port', fleet.hostPath, '--trust-key', rig.key.public, '--mcu-telemetry-interval', '200', '--mcu-silence', '2', '--mcu-boot-timeout', '5'],
  });
  ctx.fleetAgent = fleetAgent;
  ctx.fleetGw = (await fleetAgent.waitForOutput(/running as (\S+)/))[1] ?? '';
  await waitFor('both STM32s online at 1.0.0', async () => {
    const mcus = await rig.mcus();
    return [BENCH_SERIAL, FLEET_SERIAL].every((s) => mcus.some((m) => m.id === mcuOf(s) && m.online && m.firmwareVersion === '1.0.0')) ? true : undefined;
  }, 60_000, 300);
  for (const [id, labels] of [[ctx.benchGw, ['plant=p3', 'role=bench']], [ctx.fleetGw, ['plant=p3']]] as const) {
    const r = await rig.cli(['label', 'device', id, ...labels]);
    if (r.code !== 0) throw new Error(`label failed: ${r.stderr}`);
  }
});

test.after.always(async () => {
  await ctx.fleetAgent?.kill('SIGKILL');
  await ctx.rig?.cleanup();
});

async function fetchRollout(name: string): Promise<RolloutView> {
  const res = await fetch(`${ctx.rig.hub.apiUrl}/v1/rollouts/${name}`, { headers: { authorization: `Bearer ${ctx.rig.hub.adminToken}` } });
  return rolloutViewSchema.parse(await res.json());
}

async function versionOf(serial: string): Promise<string | undefined> {
  return (await ctx.rig.mcus()).find((m) => m.id === mcuOf(serial))?.firmwareVersion;
}

async function applyRelease(version: string, sha256: string, rollout: string): Promise<void> {
  const file = join(ctx.rig.root, `${rollout}.yaml`);
  const wave = 'minHealthySeconds: 1, healthyDeadlineSeconds: 40, progressDeadlineSeconds: 60';
  await writeFile(
    file,
    `apiVersion: edgepilot.io/v1
kind: Release
metadata: { name: node-fw }
spec:
  version: ${version}
  firmware: [{ mcuModel: stm32f103, version: ${version}, sha256: ${sha256} }]
---
apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: ${rollout} }
spec:
  selector: { matchLabels: { plant: p3 } }
  release: { name: node-fw, version: ${version} }
  waves:
    - { name: bench, gate: hil, selector: { matchLabels: { role: bench } }, ${wave} }
    - { name: fleet, percent: 100, ${wave} }
`,
  );
  const r = await ctx.rig.cli(['apply', '-f', file]);
  if (r.code !== 0) throw new Error(`apply failed: ${r.stderr}`);
}

test.serial('silent firmware fails the HIL gate: the bench MCU is rolled back, the fleet MCU is never flashed', async (t) => {
  await applyRelease('9.9.9', ctx.sha['silent'] ?? '', 'gate-bad');
  const done = await waitFor('gate-bad rolled back', async () => {
    const r = await fetchRollout('gate-bad');
    return r.phase === 'rolled-back' ? r : undefined;
  }, 120_000, 300);
  t.is(done.waves[0]?.state, 'failed');
  t.is(done.waves[1]?.state, 'pending', 'the fleet wave never started');
  t.true(done.history.some((h) => h.type === 'gate-failed'));
  const releases = await ctx.rig.cli(['get', 'releases', '-o', 'json']);
  t.regex(releases.stdout, /"result": "fail"/, 'the verdict is stored with the release');
  await waitFor('the bench MCU back at 1.0.0', async () => ((await versionOf(BENCH_SERIAL)) === '1.0.0' ? true : undefined), 60_000, 300);
  t.is(await versionOf(FLEET_SERIAL), '1.0.0');
});

test.serial('good firmware passes the gate and the fleet gateway\'s MCU ends at the new version', async (t) => {
  await applyRelease('2.0.0', ctx.sha['good'] ?? '', 'gate-good');
  const done = await waitFor('gate-good completed', async () => {
    const r = await fetchRollout('gate-good');
    if (r.phase === 'rolled-back') {
      const raw = (await (await fetch(`${ctx.rig.hub.apiUrl}/v1/rollouts/gate-good`, { headers: { authorization: `Bearer ${ctx.rig.hub.adminToken}` } })).json()) as { events: { reason: string; message: string }[] };
      throw new Error(`rolled back: ${JSON.stringify(raw.events.filter((e) => e.reason === 'DeviceFailed'))}`);
    }
    return r.phase === 'completed' ? r : undefined;
  }, 150_000, 300);
  t.deepEqual(done.waves.map((w) => w.state), ['succeeded', 'succeeded']);
  t.true(done.history.some((h) => h.type === 'gate-passed'));
  t.is(await versionOf(BENCH_SERIAL), '2.0.0');
  t.is(await versionOf(FLEET_SERIAL), '2.0.0');
});

test.serial('undoing the rollout restores the firmware each MCU ran before, although there was no release before', async (t) => {
  // 1.0.0 ran before node-fw existed; the hub knows it only from the gateways' identities.
  // Its image reaches the store only now: the rollback looks it up by model and version.
  await ctx.rig.push(stm32Image(ctx.rig, '1.0.0'), 'stm32f103', '1.0.0');
  const undo = await ctx.rig.cli(['rollout', 'undo', 'gate-good', '--reason', 'test restores 1.0.0']);
  t.is(undo.code, 0, undo.stderr);
  await waitFor('both MCUs back at 1.0.0', async () => {
    const [bench, fleet] = [await versionOf(BENCH_SERIAL), await versionOf(FLEET_SERIAL)];
    return bench === '1.0.0' && fleet === '1.0.0' ? true : undefined;
  }, 120_000, 300).catch(async (err: unknown) => {
    const raw = (await (await fetch(`${ctx.rig.hub.apiUrl}/v1/rollouts/gate-good`, { headers: { authorization: `Bearer ${ctx.rig.hub.adminToken}` } })).json()) as { devices: unknown; events: unknown };
    const bench = await ctx.rig.cli(['describe', 'device', ctx.benchGw]);
    throw new Error(`${(err as Error).message}: ${JSON.stringify(raw.devices)} ${JSON.stringify(raw.events)} ${bench.stdout}`);
  });
  const r = await fetchRollout('gate-good');
  t.is(r.phase, 'rolled-back');
  t.true(r.devices.every((d) => d.state === 'rolled-back' && !/not in the firmware store/.test(d.reason ?? '')), JSON.stringify(r.devices));
  const restored = await waitFor('FirmwareRestored events', async () => {
    const e = ((await (await fetch(`${ctx.rig.hub.apiUrl}/v1/rollouts/gate-good`, { headers: { authorization: `Bearer ${ctx.rig.hub.adminToken}` } })).json()) as { events: { reason: string; message: string }[] }).events;
    const found = e.filter((x) => x.reason === 'FirmwareRestored');
    return found.length === 2 ? found : undefined;
  }, 30_000, 300);
  t.true(restored.every((e) => /previous firmware 1\.0\.0/.test(e.message)));
});

test.serial('while the fleet gateway waits for its window it fetches the release\'s firmware ahead; nothing is flashed', async (t) => {
  // node-fw@2.0.0 has a stored gate pass, so its gate wave is skipped; the fleet's window opens in an hour.
  const opens = new Date(Date.now() + 3_600_000);
  const file = join(ctx.rig.root, 'window-later.yaml');
  await writeFile(
    file,
    `apiVersion: edgepilot.io/v1
kind: MaintenanceWindow
metadata: { name: p3-later }
spec:
  selector: { matchLabels: { plant: p3 } }
  schedule: "${opens.getUTCSeconds()} ${opens.getUTCMinutes()} ${opens.getUTCHours()} * * *"
  duration: 10m
  timeZone: UTC
  mode: allow
---
apiVersion: edgepilot.io/v1
kind: Rollout
metadata: { name: gate-later }
spec:
  selector: { matchLabels: { plant: p3 } }
  release: { name: node-fw, version: 2.0.0 }
  waves:
    - { name: bench, gate: hil, selector: { matchLabels: { role: bench } } }
    - { name: fleet, percent: 100 }
`,
  );
  const applied = await ctx.rig.cli(['apply', '-f', file]);
  t.is(applied.code, 0, applied.stderr);
  await waitFor('the fleet gateway waiting for its window', async () => {
    const r = await fetchRollout('gate-later');
    return r.devices.find((d) => d.id === ctx.fleetGw)?.state === 'waiting-window' ? true : undefined;
  }, 60_000, 300);
  const described = await waitFor('the firmware downloaded ahead', async () => {
    const d = await ctx.rig.cli(['describe', 'device', ctx.fleetGw]);
    return /Downloaded\s+firmware stm32f103 2\.0\.0 \([0-9a-f]{12}…\) is here; flashing waits for the maintenance window/.test(d.stdout) ? d.stdout : undefined;
  }, 60_000, 500);
  t.regex(described, /Rollout:\s+gate-later \(progressing\): wave 1, waiting-window/);
  t.is(await versionOf(FLEET_SERIAL), '1.0.0', 'nothing flashed outside the window');
  const aborted = await ctx.rig.cli(['rollout', 'abort', 'gate-later']);
  t.is(aborted.code, 0, aborted.stderr);
});
