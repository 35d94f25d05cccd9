// `npm run bench -- flash`: one run, one emulated STM32F103 (the bench's F10x ROM bootloader
// model: v2.2, Erase 0x43) behind a line throttled to 115200 8E1 (--baud 115200
// --bits-per-byte 11, with the profile's erase and programming times), side by side:
//   - a 64 KB image, ours as a gateway runs it (src/firmware/update: enter the bootloader,
//     Get ID, erase, write, Go, and verify by the CRC-32 the new application reports);
//   - the same, verifying by reading everything back (`verify: 'readback'`);
//   - the same image with one byte changed in one page, ours (only that page is written);
//   - stm32flash -w -v -g (Debian's, `-m 8n1`) on the same bench line, if it is installed;
//   - the raw stream baseline: 65,536 bytes through the same pty and throttled line;
//   - the download side: the BSDF2 delta (src/firmware/delta) for a one-function source change
//     (make stm32-changed) against the whole image and against brotli of the whole image.
// `--skip readback,stm32flash,line` leaves parts out for a shorter run (the delta part alone takes a second).
// Times are wall-clock from the first byte to the new application identified (ours) or
// stm32flash's exit (it only Goes; it does not wait for the application).
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { brotliCompressSync, constants as zlib } from 'node:zlib';
import { SerialPort } from 'serialport';
import { startBench } from '../hardware/bench/bench.js';
import {
  An3155Client,
  createImage,
  createSystemClock,
  flashGeometryFor,
  McuSession,
  serialPortLink,
  type ByteLink,
  type Clock,
  type FirmwareImage,
  type Unsubscribe,
} from '../src/firmware/index.js';
import { applyDelta, makeDelta } from '../src/firmware/delta/index.js';
import { MemoryImageKeeper } from '../src/firmware/update/kept-images.js';
import { updateMcu, type UpdateEnvironment } from '../src/firmware/update/index.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BAUD = 115_200;
const BITS_PER_BYTE = 11; // 8E1: start + 8 data + parity + stop, as the STM32 bootloader needs
const IMAGE_BYTES = 64 * 1024;
const FLASH_BASE = 0x0800_0000;
const CHANGED_PAGE = 40;
const MCU_ID = 'stm32f103-bench';
const byteMs = (BITS_PER_BYTE * 1000) / BAUD;
const wireMinimumS = (IMAGE_BYTES * byteMs) / 1000;

/** Counts the bytes that cross the link in each direction. */
class CountingLink implements ByteLink {
  sent = 0;
  received = 0;
  constructor(private readonly inner: ByteLink) {
    inner.onData((bytes) => (this.received += bytes.length));
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  write(bytes: Uint8Array): Promise<void> {
    this.sent += bytes.length;
    return this.inner.write(bytes);
  }
  onData(listener: (bytes: Uint8Array) => void): Unsubscribe {
    return this.inner.onData(listener);
  }
  onClose(listener: (error?: Error) => void): Unsubscribe {
    return this.inner.onClose(listener);
  }
  onError(listener: (error: Error) => void): Unsubscribe {
    return this.inner.onError(listener);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  reset(): void {
    this.sent = 0;
    this.received = 0;
  }
}

/** The v1 application followed by deterministic filler up to 64 KB: every byte crosses the wire, and it still boots. */
function benchImage(build: string, application = 'stm32f103-node-1.0.0.bin'): Uint8Array {
  const app = readFileSync(path.join(build, application));
  const data = new Uint8Array(IMAGE_BYTES);
  let x = 0x2545f491;
  for (let i = 0; i < data.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    data[i] = x & 0xff;
  }
  data.set(app, 0);
  return data;
}

async function openLink(hostPath: string): Promise<CountingLink> {
  const port = new SerialPort({ path: hostPath, baudRate: BAUD, parity: 'even', autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  return new CountingLink(serialPortLink(port));
}

/** Baseline: 65,536 × 0x7F into a synced bootloader; it NACKs every (7F, 7F) pair. Done when the last NACK is back. */
async function rawStream(link: CountingLink): Promise<number> {
  const pairs = IMAGE_BYTES / 2;
  let nacks = 0;
  const done = new Promise<void>((resolve) => {
    const off = link.onData((bytes) => {
      nacks += bytes.filter((b) => b === 0x1f).length;
      if (nacks >= pairs) {
        off();
        resolve();
      }
    });
  });
  const started = performance.now();
  await link.write(new Uint8Array(IMAGE_BYTES).fill(0x7f));
  await done;
  return (performance.now() - started) / 1000;
}

function pct(part: number, whole: number): string {
  return `${((100 * part) / whole).toFixed(1)} %`;
}

interface Measured {
  readonly seconds: number;
  readonly sent: number;
  readonly received: number;
  readonly written: number;
  readonly steps: string;
}

/** One update through the gateway's updater; seconds until the new image identified (and was verified). */
async function ours(link: CountingLink, clock: Clock, keeper: MemoryImageKeeper, image: FirmwareImage, options: Partial<UpdateEnvironment>): Promise<Measured> {
  const geometry = flashGeometryFor('stm32f103');
  if (!geometry) throw new Error('no stm32f103 geometry');
  const firstAt = new Map<string, number>();
  link.reset();
  const started = performance.now();
  const outcome = await updateMcu(
    {
      link,
      clock,
      geometry,
      keeper,
      mcuId: MCU_ID,
      runningVersion: '1.0.0',
      onProgress: (step) => {
        if (!firstAt.has(step)) firstAt.set(step, performance.now());
      },
      ...options,
    },
    image,
    '1.0.0',
  );
  const seconds = (performance.now() - started) / 1000;
  if (outcome.kind !== 'updated') throw new Error(`the flash did not succeed: ${outcome.kind === 'failed' || outcome.kind === 'rolled-back' ? outcome.message : ''}`);
  const steps = [...firstAt.entries()].map(([step, at]) => `${step} at ${((at - started) / 1000).toFixed(2)}`).join(', ');
  return { seconds, sent: link.sent, received: link.received, written: outcome.bytesWritten, steps };
}

const run$ = promisify(execFile);

async function stm32flash(hostPath: string, file: string): Promise<number | string> {
  try {
    execFileSync('stm32flash', ['-h'], { stdio: 'ignore' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'not installed';
  }
  const started = performance.now();
  try {
    await run$('stm32flash', ['-m', '8n1', '-b', String(BAUD), '-w', file, '-v', '-g', '0x08000000', hostPath], { timeout: 180_000 });
  } catch (err) {
    return `failed: ${(err as Error).message.split('\n')[0] ?? ''}`;
  }
  return (performance.now() - started) / 1000;
}

interface DeltaCase {
  readonly label: string;
  readonly from: string;
  readonly to: string;
}

/** Delta sizes for a one-function source change, with brotli of the whole image as the baseline. */
function deltaReport(build: string): string[] {
  const cases: DeltaCase[] = [
    { label: '1.0.1 → 1.0.1 + one function', from: 'stm32f103-node-1.0.1.bin', to: 'stm32f103-node-changed-1.0.1.bin' },
    { label: '1.0.0 → 1.0.1 + one function', from: 'stm32f103-node-1.0.0.bin', to: 'stm32f103-node-changed-1.0.1.bin' },
    { label: '1.0.0 → 1.0.1 (version only)', from: 'stm32f103-node-1.0.0.bin', to: 'stm32f103-node-1.0.1.bin' },
  ];
  const lines: string[] = [];
  for (const c of [...cases, { label: '64 KB bench image + one function', from: '', to: '' }]) {
    // The last case: the same change inside the 64 KB bench image (application + filler), to show the cost at full size.
    const older = c.from ? new Uint8Array(readFileSync(path.join(build, c.from))) : benchImage(build);
    const newer = c.to ? new Uint8Array(readFileSync(path.join(build, c.to))) : benchImage(build, 'stm32f103-node-changed-1.0.1.bin');
    let started = performance.now();
    const delta = makeDelta(older, newer);
    const makeMs = performance.now() - started;
    started = performance.now();
    const patched = applyDelta(older, delta, { expectedSize: newer.length });
    const applyMs = performance.now() - started;
    if (!Buffer.from(patched).equals(Buffer.from(newer))) throw new Error(`the delta for ${c.label} does not make the image`);
    const brotli = brotliCompressSync(newer, { params: { [zlib.BROTLI_PARAM_QUALITY]: zlib.BROTLI_MAX_QUALITY } }).length;
    const differing = newer.reduce((n, byte, i) => n + (byte === older[i] ? 0 : 1), 0);
    lines.push(
      `  ${c.label.padEnd(34)} delta ${String(delta.length).padStart(5)} bytes = ${pct(delta.length, newer.length).padStart(6)} of the ${newer.length}-byte image ` +
        `(brotli of the whole image ${brotli} bytes = ${pct(brotli, newer.length)}; delta / brotli = ${(delta.length / brotli).toFixed(2)}); ` +
        `${differing} bytes differ in place; made in ${makeMs.toFixed(0)} ms, applied in ${applyMs.toFixed(1)} ms`,
    );
  }
  return lines;
}

export async function run(argv: string[] = []): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { skip: { type: 'string', default: '' } } });
  const skip = new Set(values.skip.split(',').filter(Boolean));
  for (const part of skip) if (!['readback', 'stm32flash', 'line'].includes(part)) throw new Error(`--skip takes readback, stm32flash, line; not ${part}`);
  const work = mkdtempSync(path.join(os.tmpdir(), 'edgepilot-bench-flash-'));
  const build = path.join(work, 'build');
  mkdirSync(path.join(work, 'bench'));
  try {
    const make = (target: string, version: string): void => {
      execFileSync('make', ['-s', '-C', path.join(REPO, 'hardware'), target, `VERSION=${version}`, `BUILD_DIR=${build}`], { stdio: 'pipe' });
    };
    make('stm32', '1.0.0');
    make('stm32', '1.0.1');
    make('stm32-changed', '1.0.1');
    console.log(`flash: load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} (${os.cpus().length} cores)`);
    const deltas = deltaReport(build);
    if (skip.has('line')) {
      console.log('download: BSDF2 delta for a one-function source change (make stm32-changed: SET_RATE caps the interval)');
      for (const line of deltas) console.log(line);
      return;
    }
    const data = benchImage(build);
    const image = createImage([{ address: FLASH_BASE, data }]);
    const changed = data.slice();
    changed[CHANGED_PAGE * 1024 + 100] = (changed[CHANGED_PAGE * 1024 + 100] ?? 0) ^ 0x5a;
    const onePage = createImage([{ address: FLASH_BASE, data: changed }]);
    const binFile = path.join(work, 'image.bin');
    writeFileSync(binFile, data);
    const bench = await startBench({
      mcu: 'stm32f103',
      image: path.join(build, 'stm32f103-node-1.0.0.hex'),
      hostPath: path.join(work, 'tty'),
      flashFile: path.join(work, 'flash.bin'),
      workDirectory: path.join(work, 'bench'),
      baud: BAUD,
      bitsPerByte: BITS_PER_BYTE,
    });
    const clock = createSystemClock();
    try {
      let link = await openLink(bench.hostPath);
      // The gateway kept what it flashed last (the application the bench started with), so no
      // backup read-back is timed: the measured update is the flash itself.
      const keeper = new MemoryImageKeeper();
      await keeper.save(MCU_ID, { version: '1.0.0', origin: 'flashed', loadAddress: FLASH_BASE, data: readFileSync(path.join(build, 'stm32f103-node-1.0.0.bin')) });
      const crc = await ours(link, clock, keeper, image, { pageDiff: false });
      const readBack = skip.has('readback') ? undefined : await ours(link, clock, keeper, image, { pageDiff: false, verify: 'readback' });
      const page = await ours(link, clock, keeper, onePage, {});
      if (!Buffer.from(readFileSync(bench.flashFile).subarray(0, IMAGE_BYTES)).equals(Buffer.from(changed))) throw new Error('the flash file does not hold the changed image');

      await new McuSession({ link, clock, requestTimeoutMs: 2000 }).enterBootloader();
      const client = new An3155Client({ link, clock });
      await client.sync(4);
      const baselineS = await rawStream(link);
      await client.resync();
      client.dispose();
      await link.close();

      // stm32flash needs the ROM bootloader waiting for its 0x7F: BOOT0 high and a reset.
      await bench.resetToBootloader();
      const reference = skip.has('stm32flash') ? 'skipped (--skip stm32flash)' : await stm32flash(bench.hostPath, binFile);
      link = await openLink(bench.hostPath);
      await link.close();

      const line = (label: string, m: Measured): string =>
        `  ${label.padEnd(34)} ${m.seconds.toFixed(2).padStart(6)} s   ${String(m.sent).padStart(6)} bytes out, ${String(m.received).padStart(6)} back, ${m.written} written   (${m.steps})`;
      console.log(`flash: an emulated STM32F103 (F10x ROM bootloader, Erase 0x43) at ${BAUD} baud, ${BITS_PER_BYTE} bits per byte (8E1); wire minimum for ${IMAGE_BYTES} bytes ${wireMinimumS.toFixed(2)} s`);
      console.log(line('64 KB, ours, CRC-32 verify', crc));
      if (readBack) console.log(line('64 KB, ours, read-back verify', readBack));
      else console.log(`  ${'64 KB, ours, read-back verify'.padEnd(34)} skipped (--skip readback)`);
      console.log(line(`one page changed (page ${CHANGED_PAGE}), ours`, page));
      if (typeof reference === 'number') {
        console.log(`  ${'64 KB, stm32flash -w -v -g'.padEnd(34)} ${reference.toFixed(2).padStart(6)} s`);
        console.log(`  ratio                              ours (CRC) / stm32flash = ${(crc.seconds / reference).toFixed(2)}, stm32flash / ours = ${(reference / crc.seconds).toFixed(2)}×${readBack ? `; read-back / stm32flash = ${(readBack.seconds / reference).toFixed(2)}` : ''}`);
      } else {
        console.log(`  ${'64 KB, stm32flash -w -v -g'.padEnd(34)} ${reference}`);
      }
      console.log(`  ${'raw stream baseline'.padEnd(34)} ${baselineS.toFixed(2).padStart(6)} s   (${pct(wireMinimumS, baselineS)} of line rate)`);
      console.log(`  efficiency                         ours (CRC) ${pct(wireMinimumS, crc.seconds)} of line rate, ${(crc.seconds / baselineS).toFixed(2)}× the raw stream`);
      console.log('download: BSDF2 delta for a one-function source change (make stm32-changed: SET_RATE caps the interval)');
      for (const deltaLine of deltas) console.log(deltaLine);
    } finally {
      await bench.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
