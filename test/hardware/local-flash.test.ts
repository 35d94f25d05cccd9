// On-site flashing without a hub: `edgepilot firmware sign` makes a bundle, `edgepilot flash
// --port <tty> <bundle>` checks it like a gateway would and flashes the emulated STM32F103
// over the pseudo-terminal, keeping the running image to restore.
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBench, type Bench } from '../../hardware/bench/bench.js';
import { isolatedEnv } from '../support/fleet.js';
import { makeTempDir } from '../support/paths.js';
import { runCli, spawnEdgepilot, type CliResult } from '../support/processes.js';
import { buildFirmware } from './bench-host.js';

let root = '';
let remove: (() => Promise<void>) | undefined;
let bench: Bench | undefined;

test.before(async () => {
  const tmp = await makeTempDir('ep-hw-local-');
  root = tmp.path;
  remove = tmp.remove;
  for (const version of ['1.0.0', '2.0.0']) buildFirmware(join(root, 'build'), version, 'stm32');
  bench = await startBench({
    mcu: 'stm32f103',
    image: join(root, 'build', 'stm32f103-node-1.0.0.hex'),
    hostPath: join(root, 'tty-stm'),
    flashFile: join(root, 'flash.bin'),
    serial: '10ca1f1a50000001',
  });
});

test.after.always(async () => {
  await bench?.stop();
  await remove?.();
});

function cli(args: string[]): Promise<CliResult> {
  return runCli(args, isolatedEnv(root));
}

async function sign(version: string, key: string, out: string): Promise<void> {
  const result = await cli(['firmware', 'sign', join(root, 'build', `stm32f103-node-${version}.hex`), '--target', 'stm32f103', '--version', version, '--key', key, '-o', out]);
  if (result.code !== 0) throw new Error(`sign failed: ${result.stderr}`);
}

test.serial('a signed bundle is checked and flashed over the serial port; refusals leave the MCU untouched', async (t) => {
  if (!bench) throw new Error('no bench');
  const keys = join(root, 'site');
  const other = join(root, 'other');
  t.is((await cli(['firmware', 'keygen', '--out', keys])).code, 0);
  t.is((await cli(['firmware', 'keygen', '--out', other])).code, 0);
  const again = await cli(['firmware', 'keygen', '--out', keys]);
  t.not(again.code, 0, 'an existing key is never overwritten');
  t.regex(again.stderr, /^error: .*exists/m);

  const v2 = join(root, 'v2.epfw');
  const v1 = join(root, 'v1.epfw');
  const foreign = join(root, 'v2-other-key.epfw');
  await sign('2.0.0', `${keys}.key`, v2);
  await sign('1.0.0', `${keys}.key`, v1);
  await sign('2.0.0', `${other}.key`, foreign);
  const tampered = join(root, 'v2-tampered.epfw');
  const bundle = JSON.parse(readFileSync(v2, 'utf8')) as { image: string };
  const image = Buffer.from(bundle.image, 'base64');
  image[100] = (image[100] ?? 0) ^ 0x01;
  writeFileSync(tampered, JSON.stringify({ ...bundle, image: image.toString('base64') }));

  const flashBefore = bench.flashImage();
  const refusals: [string, RegExp][] = [
    [foreign, /refused 2\.0\.0 \(unknown-key\)/],
    [tampered, /refused 2\.0\.0 \(hash-mismatch\)/],
    [v1, /refused 1\.0\.0 \(same-version\)/],
  ];
  for (const [file, reason] of refusals) {
    const refused = await cli(['flash', '--port', bench.hostPath, file, '--trust-key', `${keys}.pub`]);
    t.not(refused.code, 0);
    t.regex(refused.stderr, reason);
  }
  t.true(Buffer.from(bench.flashImage()).equals(Buffer.from(flashBefore)), 'nothing was written');
  t.is(bench.mode, 'app');

  const flashed = await cli(['flash', '--port', bench.hostPath, v2, '--trust-key', `${keys}.pub`]);
  t.is(flashed.code, 0, flashed.stderr);
  t.regex(flashed.stdout, /stm32f103-10ca1f1a50000001: 1\.0\.0 → 2\.0\.0/);
  t.regex(flashed.stderr, /^write 100%/m);
  t.regex(flashed.stderr, /^verify 100%/m);
  const expected = readFileSync(join(root, 'build', 'stm32f103-node-2.0.0.bin'));
  t.true(Buffer.from(bench.flashImage().subarray(0, expected.length)).equals(expected));

  const downgrade = await cli(['flash', '--port', bench.hostPath, v1, '--trust-key', `${keys}.pub`]);
  t.not(downgrade.code, 0);
  t.regex(downgrade.stderr, /refused 1\.0\.0 \(downgrade\)/);
  const forced = await cli(['flash', '--port', bench.hostPath, v1, '--trust-key', `${keys}.pub`, '--force']);
  t.is(forced.code, 0, forced.stderr);
  t.regex(forced.stdout, /2\.0\.0 → 1\.0\.0/);
});

test.serial('a read-protected STM32F103: a clear refusal, --unprotect needs --yes without a terminal, then erases and flashes', async (t) => {
  const keys = join(root, 'rdp-keys');
  t.is((await cli(['firmware', 'keygen', '--out', keys])).code, 0);
  const v2 = join(root, 'rdp-v2.epfw');
  await sign('2.0.0', `${keys}.key`, v2);
  // BOOT0 held high: after Readout Unprotect the chip resets back into its ROM bootloader.
  const protectedBench = await startBench({
    mcu: 'stm32f103',
    image: join(root, 'build', 'stm32f103-node-1.0.0.hex'),
    hostPath: join(root, 'tty-rdp'),
    flashFile: join(root, 'flash-rdp.bin'),
    serial: '10ca1f1a50000002',
    readProtected: true,
    boot0: 'high',
  });
  t.teardown(() => protectedBench.stop());
  const flashBefore = protectedBench.flashImage();
  const flashArgs = ['flash', '--port', protectedBench.hostPath, v2, '--trust-key', `${keys}.pub`];

  const refused = await cli(flashArgs);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /^error: readout protection is active on this stm32f103: .*Flash again with --unprotect to remove it, which erases the whole flash/m);
  t.true(Buffer.from(protectedBench.flashImage()).equals(Buffer.from(flashBefore)), 'nothing was erased or written');

  // Readout protection refuses Go as well: the chip waits in its bootloader until it is reset.
  await protectedBench.powerCycle();
  const unconfirmed = await cli([...flashArgs, '--unprotect']);
  t.not(unconfirmed.code, 0);
  t.regex(unconfirmed.stderr, /^error: --unprotect erases the whole flash of a read-protected MCU: confirm with --yes/m);
  t.is(protectedBench.mode, 'app', 'the MCU was not touched');

  const unprotected = await cli([...flashArgs, '--unprotect', '--yes']);
  t.is(unprotected.code, 0, unprotected.stderr);
  t.regex(unprotected.stderr, /removing readout protection/);
  t.regex(unprotected.stdout, /stm32f103-10ca1f1a50000002: 1\.0\.0 → 2\.0\.0/);
  t.false(protectedBench.memory.readProtected);
  const expected = readFileSync(join(root, 'build', 'stm32f103-node-2.0.0.bin'));
  t.true(Buffer.from(protectedBench.flashImage().subarray(0, expected.length)).equals(expected));
});

test.serial('an STC89C52 on site with --power ask: the technician is prompted, power-cycles it, and it is flashed and boots 2.0.0', async (t) => {
  for (const version of ['1.0.0', '2.0.0']) buildFirmware(join(root, 'build'), version, 'stc89c52');
  const keys = join(root, 'stc-keys');
  t.is((await cli(['firmware', 'keygen', '--out', keys])).code, 0);
  const bundle = join(root, 'stc-v2.epfw');
  const signed = await cli(['firmware', 'sign', join(root, 'build', 'stc89c52-tilt-2.0.0.ihx'), '--target', 'stc89c52', '--version', '2.0.0', '--key', `${keys}.key`, '-o', bundle]);
  t.is(signed.code, 0, signed.stderr);
  const stc = await startBench({
    mcu: 'stc89c52',
    image: join(root, 'build', 'stc89c52-tilt-1.0.0.ihx'),
    hostPath: join(root, 'tty-stc'),
    flashFile: join(root, 'flash-stc.bin'),
  });
  t.teardown(() => stc.stop());
  const flashing = spawnEdgepilot('flash', ['flash', '--port', stc.hostPath, bundle, '--trust-key', `${keys}.pub`, '--power', 'ask'], isolatedEnv(root));
  t.teardown(() => flashing.kill('SIGKILL'));
  // The technician reads the prompt and switches the board off and on.
  await flashing.waitForOutput(/power-cycle the MCU on \S+ now: switch its supply off and on again .*waiting 60 s/);
  await stc.powerCycle();
  const { code } = await flashing.exited;
  t.is(code, 0, flashing.output);
  t.regex(flashing.output, /in the ISP loader: stc89c52 \(model 0xF002, ISP loader 4\.3C/);
  t.regex(flashing.output, /^verify 100%/m);
  t.regex(flashing.output, /1\.0\.0 → 2\.0\.0/);
});

test.serial('an STC89C52 behind a port that cannot drive DTR: --power dtr fails saying so, the flash untouched', async (t) => {
  const stc = await startBench({
    mcu: 'stc89c52',
    image: join(root, 'build', 'stc89c52-tilt-1.0.0.ihx'),
    hostPath: join(root, 'tty-stc2'),
    flashFile: join(root, 'flash-stc2.bin'),
  });
  t.teardown(() => stc.stop());
  const before = stc.flashImage();
  const result = await cli(['flash', '--port', stc.hostPath, join(root, 'stc-v2.epfw'), '--trust-key', join(root, 'stc-keys.pub'), '--power', 'dtr']);
  t.not(result.code, 0);
  // A pty cannot drive DTR (nothing preloaded here): the error names the way out.
  t.regex(result.stderr, /^error: could not power-cycle the chip: cannot drive DTR on this port \(.*\): .*power control "ask"/m);
  t.true(Buffer.from(stc.flashImage()).equals(Buffer.from(before)), 'the flash was not touched');
  t.is(stc.mode, 'app');
});
