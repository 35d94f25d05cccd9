// One power-on of the emulated MCU: a channel for its UART (uart-channel.ts), the
// emulator running a boot image made from flash, and the bench's end of that UART.
// Ends when the MCU is reset, jumps to its bootloader or the bench stops.
//
// Boot detection: output sent before anyone listens is lost, and the emulators drop
// input until the firmware enables its UART, so the session PINGs the firmware with a
// payload of its own until the PONG comes back. Everything the MCU says up to and
// including that PONG stays inside the bench.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { startEmulator, type RunningEmulator } from './emulator.js';
import { encodeFrame, FrameScanner, MESSAGE } from './frame-scanner.js';
import { formatIntelHex } from './intel-hex.js';
import type { McuProfile } from './profile.js';
import { openPtyUart, openSocketUart, type UartChannel } from './uart-channel.js';

const PROBE_SEQ = 0xbe;
const PROBE_PAYLOAD = Buffer.from('bench-probe', 'ascii');
/**
 * First resend after 300 ms (a booted MCU answers within milliseconds; an early probe is
 * dropped by a UART not yet enabled), then doubling: on a starved host a late answer to
 * an earlier probe reaches the gateway as an unsolicited PONG (seq 0xBE, "bench-probe"),
 * and backing off keeps those rare.
 */
const PROBE_FIRST_RESEND_MS = 300;

export interface McuSessionOptions {
  readonly profile: McuProfile;
  readonly workDirectory: string;
  /** Distinguishes the files and links of successive boots. */
  readonly bootNumber: number;
  /** Flash contents as the MCU sees them (serial already patched in). */
  readonly flashContents: Uint8Array;
  readonly onBytes: (bytes: Uint8Array) => void;
  readonly onUnexpectedExit: (code: number | null, signal: NodeJS.Signals | null, output: string) => void;
}

export class McuSession {
  private readonly options: McuSessionOptions;
  private readonly uart: UartChannel;
  private readonly emulator: RunningEmulator;
  private probing = false;
  private probeFinished: ((booted: boolean) => void) | undefined;
  private readonly probeScanner = new FrameScanner();
  private stopping: Promise<void> | undefined;

  private constructor(options: McuSessionOptions, uart: UartChannel, emulator: RunningEmulator) {
    this.options = options;
    this.uart = uart;
    this.emulator = emulator;
    void emulator.exited.then(({ code, signal }) => {
      if (this.stopping) return;
      this.probeFinished?.(false); // a crashed MCU will not answer the probe
      options.onUnexpectedExit(code, signal, emulator.output());
    });
  }

  static async start(options: McuSessionOptions): Promise<McuSession> {
    const { profile, workDirectory, bootNumber, flashContents } = options;
    const imagePath = path.join(workDirectory, `boot-${bootNumber}.${profile.emulator === 'qemu' ? 'bin' : 'ihx'}`);
    if (profile.emulator === 'qemu') writeFileSync(imagePath, flashContents);
    else writeFileSync(imagePath, formatIntelHex(profile.flashBase, flashContents));

    // The channel may deliver bytes before the session object exists: keep them.
    const early: Uint8Array[] = [];
    let route = (bytes: Uint8Array): void => {
      early.push(bytes);
    };
    const openUart = profile.emulator === 'qemu' ? openSocketUart : openPtyUart;
    const uart = await openUart(workDirectory, bootNumber, (bytes) => route(bytes));
    let emulator: RunningEmulator;
    try {
      emulator = await startEmulator({
        kind: profile.emulator,
        imagePath,
        uartEndpoint: uart.emulatorEndpoint,
        workDirectory,
        coreClockHz: profile.coreClockHz,
      });
    } catch (error) {
      await uart.close();
      throw error;
    }
    const session = new McuSession(options, uart, emulator);
    session.probing = true;
    route = (bytes) => session.fromMcu(bytes);
    for (const bytes of early) session.fromMcu(bytes);
    return session;
  }

  get emulatorPid(): number {
    return this.emulator.pid;
  }

  /** Resolves true once the firmware answered the probe, false after `timeoutMs`. */
  waitForBoot(timeoutMs: number): Promise<boolean> {
    if (!this.probing) return Promise.resolve(true);
    const probe = encodeFrame(MESSAGE.ping, PROBE_SEQ, PROBE_PAYLOAD);
    return new Promise((resolve) => {
      let resend: NodeJS.Timeout | undefined;
      const scheduleResend = (delayMs: number): void => {
        resend = setTimeout(() => {
          this.uart.write(probe);
          scheduleResend(delayMs * 2);
        }, delayMs);
      };
      scheduleResend(PROBE_FIRST_RESEND_MS);
      const finish = (booted: boolean): void => {
        clearTimeout(resend);
        clearTimeout(giveUp);
        this.probeFinished = undefined;
        if (!booted) this.probing = false;
        resolve(booted);
      };
      const giveUp = setTimeout(() => finish(false), timeoutMs);
      this.probeFinished = finish;
      this.uart.write(probe);
    });
  }

  write(bytes: Uint8Array): void {
    this.uart.write(bytes);
  }

  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  /** Idempotent: every caller waits for the same shutdown. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.probeFinished?.(false);
      await this.emulator.stop();
      await this.uart.close();
    })();
    return this.stopping;
  }

  private fromMcu(bytes: Uint8Array): void {
    if (!this.probing) {
      this.options.onBytes(bytes);
      return;
    }
    for (const [index, byte] of bytes.entries()) {
      const answered = this.probeScanner.push(byte).some(
        (frame) => frame.type === MESSAGE.pong && frame.seq === PROBE_SEQ && PROBE_PAYLOAD.equals(frame.payload),
      );
      if (answered) {
        this.probing = false;
        this.probeFinished?.(true);
        const rest = bytes.subarray(index + 1);
        if (rest.length > 0) this.options.onBytes(rest);
        return;
      }
    }
  }
}
