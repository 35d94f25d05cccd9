// The bench's STC89 ISP loader model (hardware/bench/stc89-isp.ts) checked against stcgal, the
// tool people flash STC chips with: stcgal programs the emulated STC89C52 through the model,
// power-cycling it with DTR (-a) as it would a board, after which s51 boots the new image. stcgal
// runs as a child process with the bench's modem-lines library preloaded (a pty has no DTR).
import test from 'ava';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { parseIntelHex } from '../../src/firmware/index.js';
import { HostPort, parseIdentity } from '../hardware/bench-host.js';
import { useStcIspBench } from '../hardware/support/stc-isp-bench.js';

const run = promisify(execFile);
const FLASH_SIZE = 8192;
const { work, build, image, ready } = useStcIspBench(test, 'stcgal');
/**
 * stcgal is on PyPI only, so this check is not part of `npm test` (CI reaches Debian and npm only):
 * EDGEPILOT_STCGAL names a copy ("python3 /path/to/stcgal.py" from a checkout of grigorig/stcgal,
 * with Debian's python3-serial and python3-tqdm), and `npm run check:stcgal` runs it.
 */
const STCGAL_COMMAND = process.env['EDGEPILOT_STCGAL'];
if (!STCGAL_COMMAND) throw new Error('EDGEPILOT_STCGAL is not set: point it at stcgal (e.g. "python3 /path/to/stcgal/stcgal.py")');
const STCGAL = STCGAL_COMMAND.split(' ');

test.serial('stcgal -a (DTR power cycle) programs v2 through the model, and s51 boots it', async (t) => {
  const bench = ready();
  const [command = 'stcgal', ...prefix] = STCGAL;
  const powered: string[] = [];
  const onPower = (state: 'off' | 'on'): void => void powered.push(state);
  bench.on('power', onPower);
  const booted = once(bench, 'booted');
  let output: string;
  try {
    const result = await run(command, [...prefix, '-P', 'stc89', '-a', '-A', 'dtr', '-p', bench.hostPath, image('2.0.0')], {
      timeout: 120_000,
      env: { ...process.env, LD_PRELOAD: path.join(build, 'libmodemlines.so'), EDGEPILOT_BENCH_LINES: work },
    });
    output = `${result.stdout}${result.stderr}`;
  } catch (err) {
    const failed = err as { stdout?: string; stderr?: string; message: string };
    return t.fail(`${failed.stdout ?? ''}${failed.stderr ?? failed.message}`);
  } finally {
    bench.off('power', onPower);
  }
  t.regex(output, /Cycling power: done/);
  t.regex(output, /STC89C52RC/);
  t.regex(output, /Target BSL version: 4\.3C/);
  t.regex(output, /Target frequency: 11\.0\d\d MHz/);
  t.deepEqual(powered.slice(-2), ['off', 'on'], 'DTR asserted cut the power, released restored it');
  await booted;
  // Every byte the image defines is in flash (stcgal fills the gaps between records with 0x00).
  const v2 = parseIntelHex(readFileSync(image('2.0.0'), 'latin1'));
  const flash = bench.flashImage();
  const differ = v2.segments.flatMap((s) => [...s.data].flatMap((b, i) => (flash[s.address + i] === b ? [] : [`0x${(s.address + i).toString(16)}`])));
  t.deepEqual(differ.slice(0, 10), [], 'the flash holds v2');
  t.true(v2.segments.every((s) => s.address + s.data.length <= FLASH_SIZE));
  const port = await HostPort.open(bench.hostPath);
  try {
    const identity = await port.request(0x02, 3);
    t.is(identity && parseIdentity(identity.payload).version, '2.0.0');
  } finally {
    await port.close();
  }
});
