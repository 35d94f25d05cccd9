// `npm run bench -- flash [--erase auto|pages|mass] [--no-verify]`: flash a 64 KB image into the
// emulated STM32F103 over a link throttled to 115200 8E1 (the bench's --baud 115200
// --bits-per-byte 11, with the profile's page-erase and programming times), through the same
// serialport → ByteLink → AN3155 flasher a gateway uses. Prints seconds per phase, bytes on
// the wire each way, and efficiency against the wire minimum (65,536 bytes × 11 bits / 115,200
// baud = 6.26 s of pure payload). Baseline, measured in the same run through the same pty and
// throttled line: a raw stream of 65,536 bytes into the bootloader (0x7F pairs, each NACKed).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SerialPort } from 'serialport';
import { startBench } from '../hardware/bench/bench.js';
import {
  An3155Client,
  createImage,
  createSystemClock,
  flashImage,
  McuSession,
  serialPortLink,
  type ByteLink,
  type FlashPhase,
  type Unsubscribe,
} from '../src/firmware/index.js';
import { eraseModeFor } from '../src/firmware/update/update-policy.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BAUD = 115_200;
const BITS_PER_BYTE = 11; // 8E1: start + 8 data + parity + stop, as the STM32 bootloader needs
const IMAGE_BYTES = 64 * 1024;
const FLASH_BASE = 0x0800_0000;
const PAGE_SIZE = 1024;
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
function benchImage(build: string): Uint8Array {
  const app = readFileSync(path.join(build, 'stm32f103-node-1.0.0.bin'));
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

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { erase: { type: 'string', default: 'auto' }, 'no-verify': { type: 'boolean', default: false } } });
  // auto: what the gateway's updater does (update-policy.ts): a full-flash image gets one mass erase.
  const erase = values.erase === 'mass' || values.erase === 'pages' ? values.erase : eraseModeFor({ start: FLASH_BASE, end: FLASH_BASE + IMAGE_BYTES }, { flashBase: FLASH_BASE, flashSize: IMAGE_BYTES, pageSize: PAGE_SIZE });
  const verify = !values['no-verify'];
  const work = mkdtempSync(path.join(os.tmpdir(), 'edgepilot-bench-flash-'));
  const build = path.join(work, 'build');
  mkdirSync(path.join(work, 'bench'));
  try {
    execFileSync('make', ['-s', '-C', path.join(REPO, 'hardware'), 'stm32', 'VERSION=1.0.0', `BUILD_DIR=${build}`], { stdio: 'pipe' });
    const data = benchImage(build);
    const image = createImage([{ address: FLASH_BASE, data }]);
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
    const link = await openLink(bench.hostPath);
    try {
      await new McuSession({ link, clock, requestTimeoutMs: 2000 }).enterBootloader();
      const client = new An3155Client({ link, clock });
      await client.sync(4);
      const baselineS = await rawStream(link);
      // A late answer to the sync may have left one 0x7F pending as half a command: resync.
      await client.resync();

      link.reset();
      const phaseStart = new Map<FlashPhase, number>();
      const started = performance.now();
      const result = await flashImage(client, image, {
        erase,
        pageSize: PAGE_SIZE,
        flashBase: FLASH_BASE,
        verify,
        sync: false,
        onProgress: (p) => {
          if (!phaseStart.has(p.phase)) phaseStart.set(p.phase, performance.now());
        },
      });
      const ended = performance.now();
      client.dispose();
      const totalS = (ended - started) / 1000;
      const at = (phase: FlashPhase): number => phaseStart.get(phase) ?? ended;
      const eraseS = (at('write') - started) / 1000;
      const writeS = ((verify ? at('verify') : at('go')) - at('write')) / 1000;
      const verifyS = verify ? (at('go') - at('verify')) / 1000 : 0;
      const flashWorkMs = (erase === 'mass' ? 40 : (IMAGE_BYTES / PAGE_SIZE) * 20) + (IMAGE_BYTES * 26) / 1000;
      // What AN3155 allows at best with this MCU's flash: every byte on the critical path at line
      // rate (per 256-byte block 265 bytes out and 3 ACKs back; a read 9 out, 257 back), plus
      // the modelled erase and programming times, with no turnaround latency at all.
      const blocks = IMAGE_BYTES / 256;
      const ceilingS = (blocks * (265 + 3) * byteMs + (verify ? blocks * (9 + 2 + 257) * byteMs : 0) + flashWorkMs) / 1000;

      console.log(`flash: ${IMAGE_BYTES} bytes into an emulated STM32F103 at ${BAUD} baud, ${BITS_PER_BYTE} bits per byte (8E1), erase ${erase}, verify ${verify ? 'by read-back' : 'off'}`);
      console.log(`  total              ${totalS.toFixed(2)} s   (erase ${eraseS.toFixed(2)} s, write ${writeS.toFixed(2)} s${verify ? `, verify ${verifyS.toFixed(2)} s` : ''})`);
      console.log(`  bytes on the wire  ${link.sent} to the MCU, ${link.received} from it (payload ${IMAGE_BYTES}; ${result.blocks} blocks, ${result.retries} retries)`);
      console.log(`  wire minimum       ${wireMinimumS.toFixed(2)} s (${IMAGE_BYTES} bytes × ${BITS_PER_BYTE} bits / ${BAUD})`);
      console.log(`  efficiency         ${pct(wireMinimumS, totalS)} of line rate overall; write phase alone ${pct(wireMinimumS, writeS)}`);
      console.log(`  AN3155 ceiling     ${ceilingS.toFixed(2)} s with this flash timing and no turnaround latency: we reach ${pct(ceilingS, totalS)} of it`);
      console.log(`  baseline           raw stream of ${IMAGE_BYTES} bytes through the same bench link: ${baselineS.toFixed(2)} s = ${pct(wireMinimumS, baselineS)} of line rate`);
      console.log(`  flash vs baseline  ${(totalS / baselineS).toFixed(2)}× the raw stream`);
      const restored = readFileSync(bench.flashFile);
      if (!Buffer.from(restored.subarray(0, IMAGE_BYTES)).equals(Buffer.from(data))) throw new Error('the flash file does not hold the image');
    } finally {
      await link.close().catch(() => undefined);
      await bench.stop();
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
