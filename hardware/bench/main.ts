// Command-line entry of the emulated bench (composition root):
//
//   node dist/hardware/bench/main.js --mcu stm32f103|stc89c52 --image <hex|ihx|bin> --link <path>
//        [--flash-file <path>] [--serial <16 hex>] [--baud 115200 --bits-per-byte 11]
//        [--fault cut@N[:ms]|drop@N|corrupt@N] [--garbage-every <ms>] [--work-dir <dir>]
//        [--bootloader f103|ext-erase] [--read-protected] [--boot0 low|high]
//        [--power-line dtr|rts|dtr-inverted|rts-inverted [--modem-lines-dir <dir>]]
//
// --power-line (stc89c52): the gateway switches the MCU's supply through that line of its
// port; the bench listens for it on <modem-lines-dir>/pts-N (default: the work directory),
// where hardware/build/libmodemlines.so, preloaded into the gateway, sends it.
// --bootloader picks the AN3155 bootloader model (bootloader-variant.ts); the default is
// the chip's own (f103 for the stm32f103). --read-protected starts with readout protection
// active; --boot0 high makes a reset by the bootloader (after Readout Unprotect and the
// other option-byte commands) come back into the bootloader instead of the application.
//
// Prints one JSON line {"ready":true,"link":...} on stdout once the MCU has booted and
// the host pty exists, then runs until SIGTERM or SIGINT and cleans up its children and
// links. Bench events go to stderr as JSON lines. SIGUSR1 unplugs / replugs the host pty,
// SIGUSR2 power-cycles the MCU.
import { parseArgs } from 'node:util';
import { startBench, type Bench, type BenchOptions } from './bench.js';
import { BOOTLOADER_VARIANTS, isBootloaderVariant } from './bootloader-variant.js';
import { isMcuModel, MCU_MODELS } from './profile.js';
import type { PowerLine } from './bench-options.js';

const POWER_LINES: readonly PowerLine[] = ['dtr', 'rts', 'dtr-inverted', 'rts-inverted'];

const USAGE = 'usage: main.js --mcu stm32f103|stc89c52 --image <file> --link <path> [--flash-file <path>] ' +
  '[--serial <16 hex>] [--baud <n> --bits-per-byte <n>] [--fault cut@N[:ms]|drop@N|corrupt@N] ' +
  '[--garbage-every <ms>] [--work-dir <dir>] [--bootloader f103|ext-erase] [--read-protected] [--boot0 low|high] ' +
  '[--power-line dtr|rts|dtr-inverted|rts-inverted [--modem-lines-dir <dir>]]';

function positiveNumber(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${text}"`);
  return value;
}

function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      mcu: { type: 'string' },
      image: { type: 'string' },
      link: { type: 'string' },
      'flash-file': { type: 'string' },
      serial: { type: 'string' },
      baud: { type: 'string' },
      'bits-per-byte': { type: 'string' },
      fault: { type: 'string' },
      'garbage-every': { type: 'string' },
      'work-dir': { type: 'string' },
      bootloader: { type: 'string' },
      'read-protected': { type: 'boolean' },
      boot0: { type: 'string' },
      'power-line': { type: 'string' },
      'modem-lines-dir': { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const mcu = values.mcu;
  if (mcu === undefined || !isMcuModel(mcu)) throw new Error(`--mcu must be one of ${MCU_MODELS.join(', ')}`);
  if (values.link === undefined) throw new Error('--link <path> is required');
  if (values.image === undefined && values['flash-file'] === undefined) {
    throw new Error('--image is required (or an existing --flash-file)');
  }
  const bootloader = values.bootloader;
  if (bootloader !== undefined && !isBootloaderVariant(bootloader)) {
    throw new Error(`--bootloader must be one of ${BOOTLOADER_VARIANTS.join(', ')}, got "${bootloader}"`);
  }
  const boot0 = values.boot0;
  if (boot0 !== undefined && boot0 !== 'low' && boot0 !== 'high') throw new Error(`--boot0 must be low or high, got "${boot0}"`);
  const powerLine = values['power-line'];
  if (powerLine !== undefined && !(POWER_LINES as readonly string[]).includes(powerLine)) {
    throw new Error(`--power-line must be one of ${POWER_LINES.join(', ')}, got "${powerLine}"`);
  }
  return {
    mcu,
    ...(powerLine === undefined ? {} : { powerLine: powerLine as PowerLine }),
    ...(values['modem-lines-dir'] === undefined ? {} : { modemLinesDirectory: values['modem-lines-dir'] }),
    hostPath: values.link,
    ...(bootloader === undefined ? {} : { bootloader }),
    ...(values['read-protected'] === true ? { readProtected: true } : {}),
    ...(boot0 === undefined ? {} : { boot0 }),
    ...(values.image === undefined ? {} : { image: values.image }),
    ...(values['flash-file'] === undefined ? {} : { flashFile: values['flash-file'] }),
    ...(values.serial === undefined ? {} : { serial: values.serial }),
    ...(values.fault === undefined ? {} : { fault: values.fault }),
    ...(values['work-dir'] === undefined ? {} : { workDirectory: values['work-dir'] }),
    baud: positiveNumber(values.baud, 'baud'),
    bitsPerByte: positiveNumber(values['bits-per-byte'], 'bits-per-byte'),
    garbageEveryMs: positiveNumber(values['garbage-every'], 'garbage-every'),
  };
}

function logEvent(event: string, detail: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ event, ...detail })}\n`);
}

function report(bench: Bench): void {
  bench.on('mode', (mode) => logEvent('mode', { mode }));
  bench.on('booted', (detail) => logEvent('booted', detail));
  bench.on('boot-failed', (detail) => logEvent('boot-failed', detail));
  bench.on('mcu-exit', ({ code, signal }) => logEvent('mcu-exit', { code, signal }));
  bench.on('bootloader-command', (code) => logEvent('bootloader-command', { code }));
  bench.on('fault', (fault) => logEvent('fault', { ...fault }));
  bench.on('unplugged', () => logEvent('unplugged'));
  bench.on('replugged', () => logEvent('replugged'));
  bench.on('system-reset', () => logEvent('system-reset'));
  bench.on('power', (state) => logEvent('power', { state }));
  bench.on('isp-sync', () => logEvent('isp-sync'));
  bench.on('failure', (error) => logEvent('failure', { message: error.message }));
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    process.exit(2);
  }
  const bench = await startBench(options);
  report(bench);

  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    bench.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('SIGHUP', shutdown);
  let unplugged = false;
  process.on('SIGUSR1', () => {
    unplugged = !unplugged;
    void (unplugged ? bench.unplug() : bench.replug());
  });
  process.on('SIGUSR2', () => void bench.powerCycle());

  process.stdout.write(`${JSON.stringify({
    ready: true,
    link: bench.hostPath,
    mcu: options.mcu,
    mode: bench.mode,
    flashFile: bench.flashFile,
    pid: process.pid,
    emulatorPid: bench.emulatorPid,
  })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
