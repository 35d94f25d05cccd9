// Flashing an STC89C52 through the fleet: `edgepilot flash` → hub → gateway agent → the
// STC89 ISP loader of the bench. The gateway power-cycles the chip through DTR
// (--mcu-power <port>=dtr) while it sends sync pulses; the loader answers only then, takes
// the image block by block (each block's sum checked), and resets into the new firmware,
// which s51 runs. A pty has no DTR, so the gateway process gets the bench's modem-lines
// library preloaded: serialport's own ioctl calls reach the bench's power switch.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Bench } from '../../hardware/bench/bench.js';
import { parseIntelHex } from '../../src/firmware/index.js';
import { startRig, type Rig } from './support/gateway-rig.js';

const SERIAL = 'c0ffee00c52c0052';
const MCU = `stc89c52-${SERIAL}`;

let rig: Rig | undefined;
let bench: Bench | undefined;
let gatewayId = '';
const power: string[] = [];
const loaderCommands: number[] = [];

test.before(async () => {
  rig = await startRig('stc89', [['stc89c52', '1.0.0'], ['stc89c52', '2.0.0'], ['stc89c52-silent', '9.9.9'], ['modem-lines', '0.0.0']]);
  await rig.push(join(rig.build, 'stc89c52-tilt-2.0.0.ihx'), 'stc89c52', '2.0.0');
  await rig.push(join(rig.build, 'stc89c52-tilt-silent-9.9.9.ihx'), 'stc89c52', '9.9.9');
  const lines = join(rig.root, 'lines');
  mkdirSync(lines, { recursive: true });
  bench = await rig.startBench('stc', {
    mcu: 'stc89c52',
    image: join(rig.build, 'stc89c52-tilt-1.0.0.ihx'),
    serial: SERIAL,
    powerLine: 'dtr',
    modemLinesDirectory: lines,
  });
  bench.on('power', (state) => power.push(state));
  bench.on('bootloader-command', (code) => loaderCommands.push(code));
  const started = await rig.startGateway([bench.hostPath], ['--mcu-power', `${bench.hostPath}=dtr`], undefined, {
    LD_PRELOAD: join(rig.build, 'libmodemlines.so'),
    EDGEPILOT_BENCH_LINES: lines,
  });
  gatewayId = started.deviceId;
  await rig.waitForMcu('the STC89C52 online', (m) => m.id === MCU && m.online);
});

test.after.always(async () => {
  await rig?.cleanup();
});

function ready(): { rig: Rig; bench: Bench } {
  if (!rig || !bench) throw new Error('setup failed');
  return { rig, bench };
}

/** Every byte the Intel HEX file defines is in the bench's flash. */
function flashHolds(file: string): boolean {
  const image = parseIntelHex(readFileSync(file, 'latin1'));
  const flash = ready().bench.flashImage();
  return image.segments.every((s) => s.data.every((b, i) => flash[s.address + i] === b));
}

test.serial('STC89C52 flashed through the fleet: DTR power cycle, sync, program, verify, boots 2.0.0', async (t) => {
  const { rig, bench } = ready();
  power.length = 0;
  loaderCommands.length = 0;
  let synced = 0;
  const onSync = (): void => void synced++;
  bench.on('isp-sync', onSync);
  const result = await rig.cli(['flash', `${gatewayId}/${MCU}`, '--image', '2.0.0']);
  bench.off('isp-sync', onSync);
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, new RegExp(`${MCU}: 1\\.0\\.0 → 2\\.0\\.0`));
  t.regex(result.stderr, /the firmware asks for a power cycle/);
  t.regex(result.stderr, /power-cycling the MCU through DTR/);
  t.regex(result.stderr, /in the ISP loader: stc89c52 \(model 0xF002, ISP loader 4\.3C, 11\.0\d\d MHz\)/);
  t.regex(result.stderr, /loader cannot read its flash: the running 1\.0\.0 cannot be kept/);
  t.regex(result.stderr, /write 100%/);
  t.regex(result.stderr, /verify 100%/);
  t.deepEqual(power, ['off', 'on'], 'DTR asserted switched the supply off, released switched it on');
  t.is(synced, 1, 'the loader answered in its power-on window');
  t.deepEqual([...new Set(loaderCommands)], [0x8f, 0x8e, 0x80, 0x84, 0x00, 0x8d, 0x82], 'baud test/set, ping, erase, program, options, reset');
  t.true(flashHolds(join(rig.build, 'stc89c52-tilt-2.0.0.ihx')));
  const mcu = await rig.waitForMcu('the STC89C52 on 2.0.0', (m) => m.id === MCU && m.online && m.firmwareVersion === '2.0.0');
  t.is(mcu.firmwareVersion, '2.0.0');
});

test.serial('an image that never identifies is rolled back to the kept 2.0.0 through a second power cycle', async (t) => {
  const { rig } = ready();
  power.length = 0;
  const result = await rig.cli(['flash', `${gatewayId}/${MCU}`, '--image', '9.9.9']);
  t.not(result.code, 0, 'a rolled-back flash exits non-zero');
  t.regex(result.stderr, /error: .*rolled back to 2\.0\.0: 9\.9\.9 never identified/);
  t.regex(result.stderr, /rollback 100%/);
  t.deepEqual(power, ['off', 'on', 'off', 'on'], 'one power cycle to flash 9.9.9, one to restore 2.0.0');
  t.true(flashHolds(join(rig.build, 'stc89c52-tilt-2.0.0.ihx')), '2.0.0 is back in flash');
  const mcu = await rig.waitForMcu('the STC89C52 back on 2.0.0', (m) => m.id === MCU && m.online && m.firmwareVersion === '2.0.0');
  t.is(mcu.firmwareVersion, '2.0.0');
  t.regex((await rig.cli(['describe', 'device', gatewayId])).stdout, /FirmwareRolledBack\s+.*rolled back to 2\.0\.0: 9\.9\.9 never identified/);
});
