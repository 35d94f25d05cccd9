// Line faults while a gateway flashes an emulated STM32F103 (hardware/bench faults.ts):
// a corrupted byte and a short cut in the middle of a Write Memory block are retried; a
// cut that outlasts every retry fails cleanly and leaves the MCU in its bootloader, from
// where the previous image is flashed back. The gateway keeps running throughout.
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { Bench } from '../../hardware/bench/bench.js';
import type { FaultEvent } from '../../hardware/bench/faults.js';
import type { ManagedProcess } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { startRig, stm32Image, type Rig } from './support/gateway-rig.js';

// The fault counts the bytes the host sends to the bootloader. On a first flash the gateway
// sends: sync 0x7F (1), the read-back of 64 KB (256 × Read Memory, 9 bytes each: 2304), Get
// (2), Extended Erase of 3 pages (11); then each 256-byte Write Memory is 265 bytes. Byte
// 3500 lies inside the data of the fifth block (bytes 3387–3642).
const IN_A_WRITE = 3500;
const LONG_CUT_MS = 30_000;

interface FaultyMcu {
  readonly bench: Bench;
  readonly id: string;
  readonly faults: { event: FaultEvent; at: number }[];
}

let rig: Rig | undefined;
let gateway: { agent: ManagedProcess; deviceId: string } | undefined;
const mcus: Record<'corrupt' | 'cut' | 'long', FaultyMcu | undefined> = { corrupt: undefined, cut: undefined, long: undefined };

test.before(async () => {
  rig = await startRig('faults', [['stm32', '1.0.0'], ['stm32', '2.0.0']]);
  await rig.push(stm32Image(rig, '1.0.0'), 'stm32f103', '1.0.0');
  await rig.push(stm32Image(rig, '2.0.0'), 'stm32f103', '2.0.0');
  const specs = {
    // Garbage between the application's frames as well, while it is identified and sent to its bootloader.
    corrupt: { serial: '00000000000c0001', fault: `corrupt@${IN_A_WRITE}`, garbageEveryMs: 25 },
    cut: { serial: '00000000000c0002', fault: `cut@${IN_A_WRITE}:1500` },
    long: { serial: '00000000000c0003', fault: `cut@${IN_A_WRITE}:${LONG_CUT_MS}` },
  } as const;
  for (const [name, spec] of Object.entries(specs) as [keyof typeof specs, (typeof specs)[keyof typeof specs]][]) {
    const bench = await rig.startBench(name, { mcu: 'stm32f103', image: stm32Image(rig, '1.0.0'), ...spec });
    const faults: FaultyMcu['faults'] = [];
    bench.on('fault', (event) => faults.push({ event, at: Date.now() }));
    mcus[name] = { bench, id: `stm32f103-${spec.serial}`, faults };
  }
  gateway = await rig.startGateway(Object.values(mcus).map((m) => m?.bench.hostPath ?? ''));
  for (const mcu of Object.values(mcus)) await rig.waitForMcu(`${mcu?.id ?? ''} online`, (m) => m.id === mcu?.id && m.online);
});

test.after.always(async () => {
  await rig?.cleanup();
});

function setup(name: keyof typeof mcus): { rig: Rig; mcu: FaultyMcu; gatewayId: string } {
  const mcu = mcus[name];
  if (!rig || !mcu || !gateway) throw new Error('setup failed');
  return { rig, mcu, gatewayId: gateway.deviceId };
}

function flashHolds(bench: Bench, file: string): boolean {
  const expected = readFileSync(file);
  return Buffer.from(bench.flashImage().subarray(0, expected.length)).equals(expected);
}

test.serial('a corrupted byte in a Write Memory block (and garbage between frames) is NACKed and the block retried', async (t) => {
  const { rig, mcu, gatewayId } = setup('corrupt');
  const result = await rig.cli(['flash', `${gatewayId}/${mcu.id}`, '--image', '2.0.0']);
  t.is(result.code, 0, result.stderr);
  t.deepEqual(mcu.faults.map((f) => f.event), [{ kind: 'corrupt', atByte: IN_A_WRITE }]);
  const retries = Number(/(\d+) retries\)/.exec(result.stdout)?.[1]);
  t.true(retries >= 1, `the corrupted block was written again (${result.stdout.trim()})`);
  t.true(flashHolds(mcu.bench, stm32Image(rig, '2.0.0', 'node', 'bin')));
  await rig.waitForMcu('the MCU on 2.0.0', (m) => m.id === mcu.id && m.online && m.firmwareVersion === '2.0.0');
});

test.serial('a short cut of the link in the middle of a block: the flasher resynchronises and retries', async (t) => {
  const { rig, mcu, gatewayId } = setup('cut');
  const result = await rig.cli(['flash', `${gatewayId}/${mcu.id}`, '--image', '2.0.0']);
  t.deepEqual(mcu.faults.map((f) => f.event), [{ kind: 'cut', atByte: IN_A_WRITE }]);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /1\.0\.0 → 2\.0\.0 \(\d+ bytes written, [1-9]\d* retries\)/);
  t.true(flashHolds(mcu.bench, stm32Image(rig, '2.0.0', 'node', 'bin')));
  await rig.waitForMcu('the MCU on 2.0.0', (m) => m.id === mcu.id && m.online && m.firmwareVersion === '2.0.0');
  t.true(gateway?.agent.running);
});

test.serial('a cut that outlasts every retry fails cleanly; the MCU waits in its bootloader and the previous image is flashed back', async (t) => {
  const { rig, mcu, gatewayId } = setup('long');
  const failed = await rig.cli(['flash', `${gatewayId}/${mcu.id}`, '--image', '2.0.0']);
  t.not(failed.code, 0);
  t.regex(failed.stderr, /^error: .*flashing 2\.0\.0 failed: .*restoring 1\.0\.0 failed/m, 'one line saying what failed and that the restore could not run yet');
  const fault = mcu.faults[0];
  t.deepEqual(fault?.event, { kind: 'cut', atByte: IN_A_WRITE });
  t.log(`the gateway gave up ${((Date.now() - (fault?.at ?? 0)) / 1000).toFixed(1)} s into the ${LONG_CUT_MS / 1000} s cut`);
  t.true(gateway?.agent.running, 'the gateway keeps running');
  const offline = (await rig.mcus()).find((m) => m.id === mcu.id);
  t.false(offline?.online, 'the MCU is listed, offline');

  // Once the line works again the MCU is still in its bootloader...
  await waitFor('the cut to end', () => Date.now() > (fault?.at ?? 0) + LONG_CUT_MS + 500, LONG_CUT_MS + 10_000, 250);
  t.is(mcu.bench.mode, 'bootloader', 'the bootloader is where the MCU waits');
  // ...and the previous image goes back through the same path (no --force: nothing runs to downgrade from).
  const restored = await rig.cli(['flash', `${gatewayId}/${mcu.id}`, '--image', '1.0.0']);
  t.is(restored.code, 0, restored.stderr);
  t.regex(restored.stdout, /unknown → 1\.0\.0/);
  t.true(flashHolds(mcu.bench, stm32Image(rig, '1.0.0', 'node', 'bin')));
  await rig.waitForMcu('the MCU on 1.0.0 again', (m) => m.id === mcu.id && m.online && m.firmwareVersion === '1.0.0');
});
