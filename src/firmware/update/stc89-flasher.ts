/**
 * The STC89's ISP loader behind the Flasher interface. The application cannot jump into the
 * loader (it runs only after power-on), so entering means: ask the application anyway (its
 * ENTER_BOOTLOADER answer says "power-cycle me", and older firmware may not answer at all),
 * then send sync pulses while the power is cycled (power-control.ts) until the loader sends
 * its status frame; then the baud switch. Writing erases from address 0 up to the image's
 * end (the loader erases no single pages), programs 128-byte blocks — each answered with
 * the sum of what the chip stored, which is the verification — writes back the option
 * byte the chip reported, and resets into the application.
 */
import type { Clock } from '../clock.js';
import { flattenImage } from '../image/segments.js';
import type { ByteLink } from '../link/byte-link.js';
import { McuSession } from '../mculink/mcu-session.js';
import { Stc89Client, type Stc89Timeouts } from '../stc89/stc89-client.js';
import { PROGRAM_BLOCK, Stc89Error } from '../stc89/wire.js';
import type { FlashGeometry } from './flash-targets.js';
import type { Flasher, FlasherSession } from './flasher.js';
import type { PowerCycler } from './power-control.js';

export interface Stc89FlasherOptions {
  readonly link: ByteLink;
  readonly clock: Clock;
  readonly geometry: FlashGeometry;
  readonly power: PowerCycler;
  /** The application's line rate, restored after the loader resets into it. */
  readonly applicationBaud?: number;
  readonly handshakeBaud?: number;
  readonly transferBaud?: number;
  readonly timeouts?: Partial<Stc89Timeouts>;
  readonly onNote?: (message: string) => void;
}

export function stc89Flasher(options: Stc89FlasherOptions): Flasher {
  return {
    kind: 'stc89-isp',
    stuckHint: 'the chip is in its ISP loader or has no valid application: power-cycle it to try again',
    async enter() {
      await askApplication(options);
      const client = new Stc89Client({
        link: options.link,
        clock: options.clock,
        ...(options.handshakeBaud ? { handshakeBaud: options.handshakeBaud } : {}),
        transferBaud: options.transferBaud ?? options.applicationBaud ?? 115_200,
        ...(options.timeouts ? { timeouts: options.timeouts } : {}),
      });
      try {
        const connected = await client.connect(() => options.power.cycle(), options.power.timeoutMs);
        const magic = connected.status.magic;
        const ids = options.geometry.productIds;
        if (ids !== undefined && !ids.includes(magic)) {
          throw new Stc89Error('unexpected', `the ISP loader reports model 0x${magic.toString(16).toUpperCase()}, not an ${options.geometry.model}: nothing was written`);
        }
        await client.switchBaud(connected);
        const chip = `${options.geometry.model} (model 0x${magic.toString(16).toUpperCase()}, ISP loader ${connected.status.bootloaderVersion}, ${(connected.clockHz / 1e6).toFixed(3)} MHz)`;
        options.onNote?.(`in the ISP loader: ${chip}`);
        return session(options, client, connected.status.options, chip);
      } catch (err) {
        client.dispose();
        throw err;
      }
    },
  };
}

/**
 * Quiet the application (its telemetry would cross the sync pulses), then ENTER_BOOTLOADER:
 * a current STC89 firmware answers "power-cycle me" and keeps running until the power goes.
 */
async function askApplication(options: Stc89FlasherOptions): Promise<void> {
  await options.link.setParity?.('none');
  // 2 s, not 500 ms: an 8051 (or its emulator on a busy host) can be slow to answer, and the note
  // tells the technician why the power is about to be cycled; a silent application costs 2 s once.
  const session = new McuSession({ link: options.link, clock: options.clock, requestTimeoutMs: 2000, retries: 0 });
  try {
    await session.setTelemetryInterval(0).catch(() => undefined);
    const answer = await session.enterBootloader();
    if (answer.powerCycleNeeded) options.onNote?.('the firmware asks for a power cycle: its ISP loader runs only after power-on');
  } catch {
    // Not answering is fine: the power cycle does not need the application.
  } finally {
    session.close();
  }
}

function session(options: Stc89FlasherOptions, client: Stc89Client, chipOptions: number, chip: string): FlasherSession {
  const { geometry } = options;
  return {
    kind: 'stc89-isp',
    geometry,
    chip,
    readProtected: false,
    pageErase: false,
    verifiesWhileWriting: true,
    async write(image, writeOptions) {
      const flat = flattenImage(image);
      const start = flat.address - geometry.flashBase;
      const end = start + flat.data.length;
      if (start < 0 || end > geometry.flashSize) throw new RangeError(`the image (0x${flat.address.toString(16)}, ${flat.data.length} bytes) does not fit the ${geometry.model}'s flash`);
      const first = start - (start % PROGRAM_BLOCK);
      const data = new Uint8Array(end - first).fill(0xff);
      data.set(flat.data, start - first);
      const progress = writeOptions.onProgress;
      writeOptions.signal?.throwIfAborted();
      progress?.({ phase: 'erase', done: 0, total: 1 });
      await client.erase(end);
      progress?.({ phase: 'erase', done: 1, total: 1 });
      progress?.({ phase: 'write', done: 0, total: data.length });
      for (let offset = 0; offset < data.length; offset += PROGRAM_BLOCK) {
        writeOptions.signal?.throwIfAborted();
        await client.program(first + offset, data.subarray(offset, offset + PROGRAM_BLOCK));
        progress?.({ phase: 'write', done: Math.min(offset + PROGRAM_BLOCK, data.length), total: data.length });
      }
      // Each block's sum was compared as it was written.
      progress?.({ phase: 'verify', done: data.length, total: data.length });
      await client.setOptions(chipOptions);
      await client.reset(options.applicationBaud);
      client.dispose();
      return { bytesWritten: flat.data.length, retries: 0 };
    },
    async leave() {
      try {
        await client.reset(options.applicationBaud);
        return '';
      } catch {
        return '; the chip may still be in its ISP loader (power-cycle it)';
      } finally {
        client.dispose();
      }
    },
    dispose: () => client.dispose(),
  };
}
