// Issue 9: a Job that claims an MCU and a flash of that MCU share the gateway's port lock. A hub and a
// gateway agent as processes, the emulated STM32F103 of hardware/bench in this process (same clock as
// the agent's, so its mode changes can be compared with run records).
import test from 'ava';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Bench, BenchMode } from '../../hardware/bench/bench.js';
import { jobDetailSchema, type JobDetail } from '../../src/protocol/index.js';
import { waitFor } from '../support/wait.js';
import { startRig, stm32Image, type Rig } from './support/gateway-rig.js';

const SERIAL = '00000000a0b0c0d0';
const MCU = `stm32f103-${SERIAL}`;

let rig: Rig | undefined;
let bench: Bench | undefined;
let gatewayId = '';
const modes: { mode: BenchMode; at: number }[] = [];

test.before(async () => {
  rig = await startRig('joblock', [['stm32', '1.0.0'], ['stm32', '2.0.0']]);
  await rig.push(stm32Image(rig, '1.0.0'), 'stm32f103', '1.0.0');
  await rig.push(stm32Image(rig, '2.0.0'), 'stm32f103', '2.0.0');
  // A real line rate: the first flash reads the running image back for rollback (seconds), so the Job
  // applied meanwhile surely reaches the gateway while the flash holds the port.
  bench = await rig.startBench('stm', { mcu: 'stm32f103', image: stm32Image(rig, '1.0.0'), serial: SERIAL, baud: 115200, bitsPerByte: 11 });
  bench.on('mode', (mode) => modes.push({ mode, at: Date.now() }));
  gatewayId = (await rig.startGateway([bench.hostPath])).deviceId;
  await rig.waitForMcu('the STM32 online', (m) => m.id === MCU && m.online);
});

test.after.always(async () => rig?.cleanup());

function ready(): { rig: Rig; bench: Bench } {
  if (!rig || !bench) throw new Error('setup failed');
  return { rig, bench };
}

async function applyJob(name: string, command: string): Promise<void> {
  const { rig } = ready();
  const file = join(rig.root, `${name}.yaml`);
  await writeFile(
    file,
    `apiVersion: edgepilot.io/v1
kind: Job
metadata: { name: ${name} }
spec:
  template:
    runtime: process
    command: ["sh", "-c", ${JSON.stringify(command)}]
    peripherals: [{ kind: mcu, mcu: stm32f103 }]
`,
  );
  const result = await rig.cli(['apply', '-f', file]);
  if (result.code !== 0) throw new Error(`apply ${name}: ${result.stderr}`);
}

async function completedJob(name: string): Promise<JobDetail> {
  const { rig } = ready();
  return waitFor(`job ${name} complete`, async () => {
    const result = await rig.cli(['describe', 'job', name, '-o', 'json']);
    if (result.code !== 0) return undefined;
    const detail = jobDetailSchema.parse(JSON.parse(result.stdout));
    return detail.status.state === 'Complete' ? detail : undefined;
  }, 60_000, 300);
}

test.serial('a Job claiming the MCU, started during a flash of it, waits for the flash and says so', async (t) => {
  const { rig } = ready();
  const bootloaderBefore = modes.length;
  const flashing = rig.cli(['flash', `${gatewayId}/${MCU}`, '--image', '2.0.0']);
  await waitFor('the MCU in its bootloader', async () => (modes.slice(bootloaderBefore).some((m) => m.mode === 'bootloader') ? true : undefined), 60_000, 50);
  await applyJob('during-flash', 'echo read the meter');
  const flashed = await flashing;
  t.is(flashed.code, 0, flashed.stderr);
  const backInApp = modes.filter((m) => m.mode === 'app').at(-1)?.at ?? 0;
  t.true(backInApp > 0, 'the flash ended with Go into the application');
  const job = await completedJob('during-flash');
  const run = job.runs.find((r) => r.reason === 'completed');
  t.truthy(run?.startedAt);
  t.true(Date.parse(run?.startedAt ?? '') >= backInApp, `the run started (${run?.startedAt}) after the flash ended (${new Date(backInApp).toISOString()})`);
  t.true(run?.output.includes('read the meter'));
  let last = '';
  const described = await waitFor('the waiting event at the hub', async () => {
    last = (await rig.cli(['describe', 'device', gatewayId])).stdout;
    return /WaitingForPort\s+.*waits for the flash of mcu stm32f103-00000000a0b0c0d0/.test(last) ? last : undefined;
  }, 15_000, 300).catch((err: unknown) => {
    t.log(last);
    throw err;
  });
  t.regex(described, /PortAcquired\s+.*after waiting \d+ s for the flash of mcu/);
  await rig.waitForMcu('the MCU back on 2.0.0 after the Job gave the port back', (m) => m.id === MCU && m.online && m.firmwareVersion === '2.0.0');
});

test.serial('a flash requested while a Job holds the MCU waits for the Job to end', async (t) => {
  const { rig } = ready();
  const marker = join(rig.root, 'job-started');
  await applyJob('holds-port', `touch ${marker}; sleep 4; echo held`);
  await waitFor('the Job running', async () => (existsSync(marker) ? true : undefined), 60_000, 100);
  const before = modes.length;
  const flashed = await rig.cli(['flash', `${gatewayId}/${MCU}`, '--image', '1.0.0', '--force']);
  t.is(flashed.code, 0, flashed.stderr);
  t.regex(flashed.stderr, /flash of 1\.0\.0 waits for job holds-port to release/);
  const job = await completedJob('holds-port');
  const run = job.runs.find((r) => r.reason === 'completed');
  const intoBootloader = modes.slice(before).find((m) => m.mode === 'bootloader')?.at ?? 0;
  t.true(intoBootloader > 0);
  t.true(intoBootloader >= Date.parse(run?.finishedAt ?? ''), `the flash touched the MCU (${new Date(intoBootloader).toISOString()}) after the Job ended (${run?.finishedAt})`);
  await rig.waitForMcu('the MCU on 1.0.0', (m) => m.id === MCU && m.online && m.firmwareVersion === '1.0.0');
});
