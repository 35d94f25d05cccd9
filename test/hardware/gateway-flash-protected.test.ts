// A read-protected STM32F103 behind a gateway: `edgepilot flash` through the hub gets a
// refusal that says what to do, and `--unprotect --yes` removes the protection (the ROM
// erases the whole flash) and flashes. The bench holds BOOT0 high, as a technician would,
// so the chip comes back into its bootloader after the ROM's reset.
import test from 'ava';
import { readFileSync } from 'node:fs';
import type { Bench } from '../../hardware/bench/bench.js';
import { startRig, stm32Image, type Rig } from './support/gateway-rig.js';

const SERIAL = '00000000bad0bad0';
const MCU = `stm32f103-${SERIAL}`;

let rig: Rig | undefined;
let bench: Bench | undefined;
let gatewayId = '';

test.before(async () => {
  rig = await startRig('flash-rdp', [['stm32', '1.0.0'], ['stm32', '2.0.0']]);
  await rig.push(stm32Image(rig, '2.0.0'), 'stm32f103', '2.0.0');
  bench = await rig.startBench('rdp', { mcu: 'stm32f103', image: stm32Image(rig, '1.0.0'), serial: SERIAL, readProtected: true, boot0: 'high' });
  gatewayId = (await rig.startGateway([bench.hostPath])).deviceId;
  await rig.waitForMcu('the read-protected STM32 online', (m) => m.id === MCU && m.online);
});

test.after.always(async () => {
  await rig?.cleanup();
});

test.serial('through the fleet: a clear refusal on a read-protected chip, then --unprotect --yes erases it and flashes', async (t) => {
  if (!rig || !bench) throw new Error('setup failed');
  const before = bench.flashImage();
  const refused = await rig.cli(['flash', `${gatewayId}/${MCU}`, '--image', '2.0.0']);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /^error: [^:]+: readout protection is active on this stm32f103: .*Flash again with --unprotect to remove it, which erases the whole flash/m);
  t.true(Buffer.from(bench.flashImage()).equals(Buffer.from(before)), 'nothing erased or written');
  t.regex((await rig.cli(['describe', 'device', gatewayId])).stdout, /FlashFailed\s+.*readout protection is active/);

  // Readout protection refuses Go too: the MCU waits in its bootloader; the technician power-cycles it.
  await bench.powerCycle();
  await rig.waitForMcu('the STM32 back online', (m) => m.id === MCU && m.online);
  const unprotected = await rig.cli(['flash', `${gatewayId}/${MCU}`, '--image', '2.0.0', '--unprotect', '--yes']);
  t.is(unprotected.code, 0, unprotected.stderr);
  t.regex(unprotected.stderr, /removing readout protection/);
  t.regex(unprotected.stdout, /1\.0\.0 → 2\.0\.0/);
  t.false(bench.memory.readProtected);
  const v2 = readFileSync(stm32Image(rig, '2.0.0', 'node', 'bin'));
  t.true(Buffer.from(bench.flashImage().subarray(0, v2.length)).equals(v2));
});
