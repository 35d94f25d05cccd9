// stm32flash (Debian), the AN3155 client field technicians use, against the bench's
// bootloader models: what it does on the bench is what it would do on a chip. `-m 8n1`
// because a pseudo-terminal drops the parity setting and stm32flash checks it.
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { startBench, type Bench, type BenchOptions } from '../../hardware/bench/bench.js';
import { buildFirmware, HostPort, parseIdentity, readIntelHexImage, temporaryDirectory } from './bench-host.js';

const run = promisify(execFile);
const FLASH_BASE = 0x08000000;
const FLASH_SIZE = 64 * 1024;
const work = temporaryDirectory('stm32flash');
const build = path.join(work, 'build');
const image = (name: string): string => path.join(build, name);

test.before(() => {
  buildFirmware(build, '1.0.0', 'stm32');
  buildFirmware(build, '2.0.0', 'stm32');
});

test.after.always(() => rmSync(work, { recursive: true, force: true }));

/** A bench whose MCU sits in its ROM bootloader (BOOT0 high at reset), as stm32flash expects. */
async function benchInBootloader(t: ExecutionContext, label: string, options: Partial<BenchOptions>): Promise<Bench> {
  const bench = await startBench({
    mcu: 'stm32f103',
    image: image('stm32f103-node-1.0.0.hex'),
    hostPath: path.join(work, `tty-${label}`),
    flashFile: path.join(work, `flash-${label}.bin`),
    ...options,
  });
  t.teardown(() => bench.stop());
  await bench.resetToBootloader();
  return bench;
}

/** stm32flash must run as a child process: the bench answers from this process's event loop. */
async function stm32flash(bench: Bench, ...args: string[]): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('stm32flash', ['-m', '8n1', '-b', '115200', ...args, bench.hostPath], { timeout: 120_000 });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (err) {
    const failed = err as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? failed.message}` };
  }
}

async function identifiedVersion(bench: Bench): Promise<string | undefined> {
  const port = await HostPort.open(bench.hostPath);
  try {
    const reply = await port.request(0x02, 1);
    return reply && reply.type === 0x82 ? parseIdentity(reply.payload).version : undefined;
  } finally {
    await port.close();
  }
}

for (const variant of ['f103', 'ext-erase'] as const) {
  test.serial(`stm32flash reads, writes with -v and starts the image on the ${variant} bootloader`, async (t) => {
    const bench = await benchInBootloader(t, variant, { bootloader: variant });
    const readFile = path.join(work, `read-${variant}.bin`);
    const read = await stm32flash(bench, '-r', readFile, '-S', `0x08000000:${FLASH_SIZE}`);
    t.true(read.ok, read.output);
    t.regex(read.output, variant === 'f103' ? /Version\s+: 0x22/ : /Version\s+: 0x31/);
    t.regex(read.output, /Device ID\s+: 0x0410/);
    t.deepEqual(readFileSync(readFile), Buffer.from(readIntelHexImage(image('stm32f103-node-1.0.0.hex'), FLASH_BASE, FLASH_SIZE)));

    const write = await stm32flash(bench, '-w', image('stm32f103-node-2.0.0.bin'), '-v', '-g', '0x08000000');
    t.true(write.ok, write.output);
    t.regex(write.output, /Wrote and verified address 0x08000[0-9a-f]{3} \(100\.00%\) Done\./);
    const v2 = readFileSync(image('stm32f103-node-2.0.0.bin'));
    t.true(Buffer.from(bench.flashImage().subarray(0, v2.length)).equals(v2));
    t.is(await identifiedVersion(bench), '2.0.0');
  });
}

test.serial('stm32flash on a read-protected F103: reading fails; -k (Readout Unprotect) erases it and reading works again', async (t) => {
  const bench = await benchInBootloader(t, 'rdp', { readProtected: true, boot0: 'high' });
  const refused = await stm32flash(bench, '-r', path.join(work, 'rdp.bin'), '-S', '0x08000000:1024');
  t.false(refused.ok, refused.output);
  const unprotect = await stm32flash(bench, '-k');
  t.true(unprotect.ok, unprotect.output);
  t.true(bench.flashImage().every((byte) => byte === 0xff));
  const read = await stm32flash(bench, '-r', path.join(work, 'rdp.bin'), '-S', '0x08000000:1024');
  t.true(read.ok, read.output);
  t.true(readFileSync(path.join(work, 'rdp.bin')).every((byte) => byte === 0xff));
});
