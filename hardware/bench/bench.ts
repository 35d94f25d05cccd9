// The emulated bench: one MCU with its flash, its application running in an emulator,
// its AN3155 bootloader modelled here, and the serial line to the gateway in between.
//
//   gateway ─ hostPath (pty) ═ socat ═ HostLink ─ SerialLine (rate, faults) ─┬─ McuSession: UART ─ qemu | s51
//                                                                            └─ An3155Bootloader ─ FlashMemory
//
// (the emulator's UART is a Unix socket for QEMU and a socat pty pair for s51, see
// uart-channel.ts; the flash persists in a raw file, see flash-memory.ts)
//
// In 'app' mode bytes go to and from the emulated firmware; when the firmware sends
// ENTER_BOOTLOADER_ACK the bench forwards it, stops the emulator and the bootloader
// model answers instead ('bootloader' mode), until Go boots the emulator again from
// the new flash contents.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { An3155Bootloader } from './an3155.js';
import { AppOutputWatcher } from './app-output.js';
import type { BootloaderMemory } from './bootloader-variant.js';
import { buildLoaders, openFlash } from './bench-loaders.js';
import type { BenchEvents, BenchMode, BenchOptions } from './bench-options.js';
import type { FlashMemory } from './flash-memory.js';
import { HostLink } from './host-link.js';
import { McuSession } from './mcu-session.js';
import { loadMcuProfile, type McuProfile } from './profile.js';
import { parseSerial, patchSerial } from './serial-patch.js';
import { SerialLine } from './serial-line.js';
import { ModemLinesListener, type ModemLines } from './modem-lines.js';
import type { Stc89IspLoader } from './stc89-isp.js';

export type { BenchEvents, BenchMode, BenchOptions } from './bench-options.js';

/** Generous: it only has to tell a firmware that never answers from a starved host. */
const DEFAULT_BOOT_TIMEOUT_MS = 20_000;

export class Bench extends EventEmitter<BenchEvents> {
  readonly profile: McuProfile;
  readonly workDirectory: string;
  readonly flashFile: string;
  private readonly ownsWorkDirectory: boolean;
  private readonly options: BenchOptions;
  private readonly flash: FlashMemory;
  private readonly serial: Uint8Array | undefined;
  private readonly host: HostLink;
  private readonly line: SerialLine;
  private readonly bootloader: An3155Bootloader;
  /** Flash plus what the bootloader variant reaches besides it (option bytes, SRAM, ROM). */
  readonly memory: BootloaderMemory;
  private readonly appOutput: AppOutputWatcher;
  /** The STC89's ISP loader (stc89-isp profiles), instead of the AN3155 model. */
  private readonly isp: Stc89IspLoader | undefined;
  private listenWindow: NodeJS.Timeout | undefined;
  private modemLines: ModemLinesListener | undefined;
  private powered = true;
  private garbageTimer: NodeJS.Timeout | undefined;
  private session: McuSession | undefined;
  private heldUntilBoot: Uint8Array[] = [];
  private appReady = false;
  private bootCount = 0;
  private currentMode: BenchMode = 'app';
  /** State changes (boot, reset, unplug, stop) run one after another. */
  private transitions: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(options: BenchOptions) {
    super();
    this.options = options;
    this.profile = loadMcuProfile(options.mcu);
    this.ownsWorkDirectory = options.workDirectory === undefined;
    this.workDirectory = options.workDirectory ?? mkdtempSync(path.join(os.tmpdir(), `edgepilot-bench-${options.mcu}-`));
    this.flashFile = options.flashFile ?? path.join(this.workDirectory, 'flash.bin');
    this.flash = openFlash(this.profile, this.flashFile, options.image);
    this.serial = options.serial === undefined ? undefined : parseSerial(options.serial);
    this.host = new HostLink(options.hostPath ?? path.join(this.workDirectory, 'tty-host'), this.workDirectory,
      (bytes) => this.fromHost(bytes));
    this.line = new SerialLine(options, {
      toDevice: (bytes) => this.deliverToDevice(bytes),
      toHost: (bytes) => this.host.write(bytes),
      fault: (event) => this.emit('fault', event),
    });
    this.appOutput = new AppOutputWatcher(options.garbageSeed, (bytes) => this.emit('garbage', bytes), this.profile.isp === undefined);
    ({ memory: this.memory, bootloader: this.bootloader, isp: this.isp } = buildLoaders(this.profile, options, this.flash, this.serial, {
      send: (bytes) => this.line.fromDevice(bytes),
      flashChanged: () => {
        this.flash.saveTo(this.flashFile);
        this.emit('flash-changed');
      },
      bootFromFlash: () => this.bootFromFlash(),
      systemReset: () => {
        this.emit('system-reset');
        if (this.options.boot0 === 'high') this.background(() => this.enterBootloader());
        else this.bootFromFlash();
      },
      commandReceived: (code) => this.emit('bootloader-command', code),
    }));
  }

  /**
   * The application starts from flash; until it runs, the host's bytes wait (a real MCU starts
   * within microseconds).
   */
  private bootFromFlash(): void {
    this.appReady = false;
    this.setMode('app');
    this.background(() => this.bootApplication());
  }

  get hostPath(): string {
    return this.host.hostPath;
  }

  get mode(): BenchMode {
    return this.currentMode;
  }

  /** PID of the running emulator, if the application is running. */
  get emulatorPid(): number | undefined {
    return this.session?.emulatorPid;
  }

  /** A copy of the current flash contents (as written; no serial patch). */
  flashImage(): Uint8Array {
    return this.flash.snapshot();
  }

  async start(): Promise<void> {
    await this.host.plug();
    if (this.options.powerLine !== undefined) {
      if (this.isp === undefined) throw new Error('powerLine: only the stc89-isp profiles are power-cycled by the gateway');
      this.modemLines = await ModemLinesListener.listen(this.options.modemLinesDirectory ?? this.workDirectory, this.host.hostPath, (lines) => this.onModemLines(lines));
    }
    if (this.options.garbageEveryMs !== undefined) {
      this.garbageTimer = setInterval(() => this.garbageTick(), this.options.garbageEveryMs);
    }
    const booted = await this.enqueue(() => this.bootApplication());
    if (!booted) throw new Error(`the ${this.options.mcu} did not answer after boot: is the image a firmware of ours?`);
  }

  /**
   * Power off and on: the application restarts from flash. On an STC89 the ISP loader
   * listens for 0x7F first (the power-on window) and takes over if it hears one.
   */
  powerCycle(): Promise<void> {
    if (this.isp !== undefined) {
      this.powerOff();
      return this.powerOn();
    }
    this.cutPowerNow();
    return this.enqueue(async () => {
      await this.bootApplication();
    });
  }

  /** The supply goes: the emulator stops at once, the loader too, and the line is dead. */
  private powerOff(): void {
    if (this.listenWindow) clearTimeout(this.listenWindow);
    this.listenWindow = undefined;
    this.cutPowerNow();
    this.isp?.stop();
    this.powered = false;
    this.setMode('off');
    this.emit('power', 'off');
    this.background(() => this.stopSession());
  }

  /** The supply returns: the STC89 loader listens for the window, then the application starts. */
  private powerOn(): Promise<void> {
    return this.enqueue(async () => {
      await this.stopSession();
      if (this.stopped || this.powered) return;
      this.powered = true;
      this.emit('power', 'on');
      this.setMode('power-on');
      // The window closes one setImmediate after its timer: on a busy host the timer and a pulse
      // that reached the pty in time can land in the same loop turn, and timers run before I/O.
      const window = setTimeout(() => {
        setImmediate(() => {
          if (this.listenWindow !== window) return;
          this.listenWindow = undefined;
          if (this.currentMode === 'power-on') this.background(() => this.bootApplication());
        });
      }, this.options.powerOnWindowMs ?? this.profile.isp?.powerOnWindowMs ?? 300);
      this.listenWindow = window;
    });
  }

  private onModemLines(lines: ModemLines): void {
    const spec = this.options.powerLine ?? 'dtr';
    const asserted = spec.startsWith('dtr') ? lines.dtr : lines.rts;
    const off = spec.endsWith('-inverted') ? !asserted : asserted;
    if (off && this.powered) this.powerOff();
    else if (!off && !this.powered) this.powerOn().catch((error: unknown) => this.emit('failure', error instanceof Error ? error : new Error(String(error))));
  }

  /** Reset with BOOT0 held high: the ROM bootloader waits for 0x7F. */
  resetToBootloader(): Promise<void> {
    if (this.isp !== undefined) return Promise.reject(new Error('an STC89 has no BOOT0: power-cycle it while sending 0x7F'));
    this.cutPowerNow();
    return this.enqueue(() => this.enterBootloader());
  }

  /**
   * A reset acts at once, even while a boot is still being probed (an image that never
   * answers would otherwise hold the queue for the whole boot timeout).
   */
  private cutPowerNow(): void {
    void this.session?.stop();
  }

  unplug(): Promise<void> {
    return this.enqueue(async () => {
      this.line.dropHostBound();
      await this.host.unplug();
      this.emit('unplugged');
    });
  }

  replug(): Promise<void> {
    return this.enqueue(async () => {
      await this.host.plug();
      this.emit('replugged');
    });
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.garbageTimer) clearInterval(this.garbageTimer);
    if (this.listenWindow) clearTimeout(this.listenWindow);
    this.isp?.stop();
    void this.modemLines?.close();
    this.cutPowerNow();
    return this.enqueue(async () => {
      this.bootloader.stop();
      this.line.clear();
      await this.stopSession();
      await this.host.unplug();
      if (this.ownsWorkDirectory) rmSync(this.workDirectory, { recursive: true, force: true });
    });
  }

  private enqueue<T>(step: () => Promise<T>): Promise<T> {
    const run = this.transitions.then(step);
    this.transitions = run.then(() => undefined, () => undefined);
    return run;
  }

  private background(step: () => Promise<unknown>): void {
    this.enqueue(step).catch((error: unknown) => {
      this.emit('failure', error instanceof Error ? error : new Error(String(error)));
    });
  }

  private setMode(mode: BenchMode): void {
    if (this.currentMode === mode) return;
    this.currentMode = mode;
    this.emit('mode', mode);
  }

  private async stopSession(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    this.appReady = false;
    this.appOutput.reset();
    await session?.stop();
  }

  /** Starts the application from flash; true when it answered the boot probe. */
  private async bootApplication(): Promise<boolean> {
    if (this.stopped) return false;
    this.bootloader.stop();
    await this.stopSession();
    this.setMode('app');
    this.bootCount++;
    const bootNumber = this.bootCount;
    const contents = this.flash.snapshot();
    const serialPatch = this.serial === undefined ? 'not-requested' : patchSerial(contents, this.serial);
    const session = await McuSession.start({
      profile: this.profile,
      workDirectory: this.workDirectory,
      bootNumber,
      flashContents: contents,
      onBytes: (bytes) => this.fromApplication(bytes),
      onUnexpectedExit: (code, signal, output) => this.emit('mcu-exit', { code, signal, output }),
    });
    this.session = session;
    const booted = await session.waitForBoot(this.options.bootTimeoutMs ?? DEFAULT_BOOT_TIMEOUT_MS);
    if (this.session !== session || session.stopped) return false; // reset while booting
    // Even a silent MCU gets the host's bytes from now on, as a real one would.
    this.appReady = true;
    const held = this.heldUntilBoot;
    this.heldUntilBoot = [];
    for (const bytes of held) session.write(bytes);
    if (booted) this.emit('booted', { bootNumber, serialPatch });
    else this.emit('boot-failed', { bootNumber });
    return booted;
  }

  private async enterBootloader(): Promise<void> {
    if (this.stopped) return;
    this.switchToBootloader();
    await this.stopSession();
  }

  /** The synchronous part: from now on host bytes go to the bootloader model. */
  private switchToBootloader(): void {
    this.setMode('bootloader');
    this.heldUntilBoot = [];
    this.bootloader.start();
  }

  private fromHost(bytes: Uint8Array): void {
    this.line.fromHost(bytes, this.currentMode === 'bootloader');
  }

  private deliverToDevice(bytes: Uint8Array): void {
    if (this.currentMode === 'off') return; // no power, no UART
    if (this.currentMode === 'power-on') {
      // The loader's window: a sync pulse makes it answer with its status frame.
      if (this.isp !== undefined && bytes.includes(0x7f)) {
        if (this.listenWindow) clearTimeout(this.listenWindow);
        this.listenWindow = undefined;
        this.setMode('bootloader');
        this.emit('isp-sync');
        this.isp.start();
      }
      return;
    }
    if (this.currentMode === 'bootloader') {
      if (this.isp !== undefined) this.isp.receive(bytes);
      else this.bootloader.receive(bytes);
    } else if (this.appReady && this.session) {
      this.session.write(bytes);
    } else {
      this.heldUntilBoot.push(bytes); // the MCU is booting: it reads them once it runs
    }
  }

  /** MCU application -> host. */
  private fromApplication(bytes: Uint8Array): void {
    // After a reset (or the ACK) nothing more comes from this boot of the application.
    if (this.currentMode !== 'app' || (this.session?.stopped ?? true)) return;
    const { forward, bootloaderAck } = this.appOutput.process(bytes);
    this.line.fromDevice(forward);
    if (bootloaderAck) {
      this.switchToBootloader();
      this.background(() => this.stopSession());
    }
  }

  private garbageTick(): void {
    if (this.currentMode !== 'app' || !this.appReady) return;
    const garbage = this.appOutput.garbageDue();
    if (garbage) this.line.fromDevice(garbage);
  }
}

/** Creates a bench and waits until its MCU has booted and the host pty exists. */
export async function startBench(options: BenchOptions): Promise<Bench> {
  const bench = new Bench(options);
  try {
    await bench.start();
  } catch (error) {
    await bench.stop();
    throw error;
  }
  return bench;
}
