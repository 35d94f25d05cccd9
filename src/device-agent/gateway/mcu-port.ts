/**
 * One serial port of a gateway and the MCU behind it: open the port (again every couple
 * of seconds while it is missing), identify the MCU (retrying with backoff), set its
 * telemetry rate, hand on every telemetry frame, notice silence (no frame for a while →
 * PING, then IDENTIFY; offline if unanswered), notice unplugging (the port closes), and
 * lend the link out exclusively for flashing. The layers below (framing, resync on
 * garbage, request matching) are the firmware module's McuSession.
 */
import type { ByteLink, Clock, Identity, Telemetry } from '../../firmware/index.js';
import { McuSession } from '../../firmware/index.js';
import type { Logger } from '../../common/log.js';
import { mcuIdFor } from './mcu-identity.js';
import { errorMessage } from '../../common/errors.js';

/** Opens the port at its configured line settings; the composition root knows serialport. */
export type PortOpener = (path: string) => Promise<ByteLink>;

export interface McuPortOptions {
  readonly path: string;
  readonly open: PortOpener;
  readonly clock: Clock;
  readonly telemetryIntervalMs: number;
  /** No valid frame for this long: check the MCU is still there. */
  readonly silenceMs: number;
  /** Wait between attempts to open a missing port. */
  readonly reopenMs: number;
  /** First and longest wait between IDENTIFY attempts (doubling). */
  readonly identifyBackoff: { readonly baseMs: number; readonly maxMs: number };
  /** Per request attempt; a 70-byte frame takes 6 ms at 115200 baud and the MCUs answer at once. Default 500. */
  readonly requestTimeoutMs?: number;
  readonly onTelemetry: (mcuId: string, identity: Identity, telemetry: Telemetry) => void;
  /** The MCU appeared, changed (id, version) or went on/offline. */
  readonly onChange: () => void;
  readonly log: Logger;
}

export interface McuPortState {
  readonly path: string;
  readonly open: boolean;
  /** Last identity the MCU gave; kept while it is offline so the MCU stays listed. */
  readonly identity: Identity | undefined;
  readonly online: boolean;
  readonly flashing: boolean;
  /** Closed for a Job that holds the port lock (its program opens the tty itself). */
  readonly handedOver: boolean;
}

/** What a flasher gets while it holds the port. */
export interface ExclusiveLink {
  readonly link: ByteLink;
  readonly identity: Identity | undefined;
  /** Whether the MCU answered IDENTIFY just before the flasher took over. */
  readonly wasOnline: boolean;
}

/** Unanswered IDENTIFYs in a row after which the port is closed and opened again. */
const REOPEN_AFTER_FAILURES = 3;

export class McuPort {
  private link: ByteLink | undefined;
  private session: McuSession | undefined;
  private identity: Identity | undefined;
  private online = false;
  private failures = 0;
  private lastUptimeMs: number | undefined;
  private recheck = false;
  private lending: Promise<void> | undefined;
  private handedOver = false;
  /** Resolves on stop(): the supervisor stops waiting for a Job that holds the port (it may run on). */
  private readonly stopping: Promise<void>;
  private stopNow!: () => void;
  private opening: Promise<boolean> | undefined;
  private closing: Promise<void> | undefined;
  private stopped = false;
  private wakeUp: (() => void) | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: McuPortOptions) {
    this.stopping = new Promise((resolve) => (this.stopNow = resolve));
  }

  get path(): string {
    return this.options.path;
  }

  get state(): McuPortState {
    return { path: this.path, open: this.link !== undefined, identity: this.identity, online: this.online, flashing: this.lending !== undefined && !this.handedOver, handedOver: this.handedOver };
  }

  get mcuId(): string | undefined {
    return this.identity ? mcuIdFor(this.identity) : undefined;
  }

  start(): void {
    this.loop ??= this.supervise().catch((err: unknown) => this.options.log.error(`${this.path}: supervisor stopped: ${errorMessage(err)}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopNow();
    this.wake();
    await this.loop;
    this.session?.close();
    await this.link?.close().catch(() => undefined);
  }

  /**
   * Hand the link to `use` (a flasher) and keep everything else off it until `use` settles.
   * Afterwards the MCU is identified afresh: it may run other firmware now.
   */
  async exclusive<T>(use: (access: ExclusiveLink) => Promise<T>): Promise<T> {
    if (this.lending) throw new Error(this.handedOver ? `${this.path} is held by a job` : `${this.path} is busy with another flash`);
    let release!: () => void;
    this.lending = new Promise((resolve) => (release = resolve));
    // The port may be between a close and the next open (see reopen()): open it now.
    const link = this.link ?? ((await this.openPort()) ? this.link : undefined);
    if (!link) {
      this.lending = undefined;
      release();
      this.wake();
      throw new Error(`serial port ${this.path} is not open (unplugged?)`);
    }
    const access: ExclusiveLink = { link, identity: this.identity, wasOnline: this.online };
    this.detachSession();
    this.setOnline(false);
    this.wake();
    try {
      return await use(access);
    } finally {
      // Whatever the flasher left it at, the application speaks 8N1.
      await link.setParity?.('none').catch(() => undefined);
      this.lending = undefined;
      this.failures = 0;
      release();
      this.wake();
    }
  }

  /**
   * Let another program (a Job that claims this port) open the tty: close it and stay off it until the
   * returned function is called, then open it and identify the MCU again. Two readers on one tty would
   * each get half of the bytes. The MCU stays listed as it was (lent, not gone), so nothing is rescheduled.
   * Giving back is synchronous: a flash waiting on the port lock may take the port right after.
   */
  async handOver(): Promise<() => void> {
    if (this.lending) throw new Error(`${this.path} is busy with another flash`);
    let release!: () => void;
    this.lending = new Promise((resolve) => (release = resolve));
    this.handedOver = true;
    this.detachSession();
    const link = this.link;
    this.link = undefined;
    this.wake();
    if (link) {
      this.closing = link.close().catch(() => undefined);
      await this.closing;
      this.closing = undefined;
    }
    this.options.log.info(`${this.path}: handed over to a job; telemetry paused`);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.lending = undefined;
      this.handedOver = false;
      this.failures = 0;
      this.recheck = true;
      release();
      this.wake();
    };
  }

  private async supervise(): Promise<void> {
    while (!this.stopped) {
      if (this.lending) {
        // A flash is waited for (closing the port under it would force a rollback); a Job is not.
        await (this.handedOver ? Promise.race([this.lending, this.stopping]) : this.lending);
        continue;
      }
      if (!this.link) {
        if (!(await this.openPort())) await this.sleep(this.options.reopenMs);
        continue;
      }
      if (!this.session || this.session.isClosed) this.attachSession(this.link);
      const session = this.session;
      if (!session) continue;
      if (!this.online || this.recheck) {
        this.recheck = false;
        if (await this.identify(session)) {
          this.failures = 0;
        } else {
          this.failures += 1;
          this.setOnline(false);
          if (this.failures % REOPEN_AFTER_FAILURES === 0) {
            await this.reopen();
            continue; // open again at once; the backoff applies to the next IDENTIFY
          }
          const { baseMs, maxMs } = this.options.identifyBackoff;
          await this.sleep(Math.min(maxMs, baseMs * 2 ** Math.min(this.failures - 1, 16)));
        }
        continue;
      }
      await this.sleep(Math.min(1000, this.options.silenceMs / 2));
      if (this.online && !this.lending && session === this.session && session.silentFor() > this.options.silenceMs) await this.checkSilent(session);
    }
  }

  /** One open at a time: the supervisor and a flasher may both want the port. */
  private openPort(): Promise<boolean> {
    this.opening ??= this.tryOpen().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async tryOpen(): Promise<boolean> {
    await this.closing; // the tty lock is held until the previous close completes
    if (this.link) return true;
    let link: ByteLink;
    try {
      link = await this.options.open(this.path);
    } catch (err) {
      this.options.log.debug(`${this.path}: cannot open (${errorMessage(err)})`);
      return false;
    }
    if (this.stopped) {
      await link.close().catch(() => undefined);
      return false;
    }
    this.link = link;
    this.options.log.info(`${this.path}: port open`);
    link.onClose((err) => {
      if (this.link !== link) return;
      this.options.log.warn(`${this.path}: port closed${err ? ` (${err.message})` : ''}`);
      this.link = undefined;
      this.detachSession();
      this.setOnline(false);
      this.wake();
    });
    link.onError((err) => this.options.log.debug(`${this.path}: ${err.message}`));
    return true;
  }

  /**
   * Close the port so the loop opens it again. A pseudo-terminal (and some USB-serial
   * drivers) whose other end went away does not always make serialport report the close;
   * opening afresh finds out (ENOENT while unplugged) and picks up a replugged device.
   */
  private async reopen(): Promise<void> {
    const link = this.link;
    if (!link || this.lending) return;
    this.options.log.debug(`${this.path}: no answer; reopening the port`);
    this.link = undefined;
    this.detachSession();
    this.closing = link.close().catch(() => undefined);
    await this.closing;
    this.closing = undefined;
  }

  private attachSession(link: ByteLink): void {
    const session = new McuSession({ link, clock: this.options.clock, requestTimeoutMs: this.options.requestTimeoutMs ?? 500, retries: 1 });
    this.session = session;
    this.lastUptimeMs = undefined;
    session.onTelemetry((telemetry) => this.onTelemetry(telemetry));
  }

  private detachSession(): void {
    this.session?.close();
    this.session = undefined;
  }

  /** IDENTIFY, then SET_RATE; true when the MCU identified. */
  private async identify(session: McuSession): Promise<boolean> {
    let identity: Identity;
    try {
      identity = await session.identify();
    } catch (err) {
      if (this.failures === 0) this.options.log.info(`${this.path}: no IDENTITY yet (${errorMessage(err)})`);
      return false;
    }
    if (session !== this.session) return false;
    const before = this.identity;
    this.identity = identity;
    try {
      await session.setTelemetryInterval(this.options.telemetryIntervalMs);
    } catch (err) {
      this.options.log.warn(`${this.path}: SET_RATE ${this.options.telemetryIntervalMs} ms failed: ${errorMessage(err)}`);
    }
    const changed = before === undefined || before.firmwareVersion !== identity.firmwareVersion || mcuIdFor(before) !== mcuIdFor(identity);
    const wasOnline = this.online;
    this.online = true;
    if (changed || !wasOnline) {
      this.options.log.info(`${this.path}: ${mcuIdFor(identity)} (${identity.model} ${identity.application}) firmware ${identity.firmwareVersion} online`);
      this.options.onChange();
    }
    return true;
  }

  /** Silence: PING first (cheap), then IDENTIFY again to resync the rate; offline if either goes unanswered. */
  private async checkSilent(session: McuSession): Promise<void> {
    try {
      await session.ping(Uint8Array.of(0x65, 0x70));
    } catch {
      this.options.log.warn(`${this.path}: ${this.mcuId ?? 'MCU'} silent for ${Math.round(session.silentFor() / 1000)} s and does not answer PING: offline`);
      this.setOnline(false);
      return;
    }
    this.recheck = true;
  }

  private onTelemetry(telemetry: Telemetry): void {
    const identity = this.identity;
    // A falling uptime means the MCU restarted (power cycle, watchdog): its rate went back to
    // the boot default and its firmware may have changed, so identify it again.
    if (this.lastUptimeMs !== undefined && telemetry.uptimeMs + 5000 < this.lastUptimeMs) {
      this.recheck = true;
      this.wake();
    }
    this.lastUptimeMs = telemetry.uptimeMs;
    if (!identity || !this.online) return;
    this.options.onTelemetry(mcuIdFor(identity), identity, telemetry);
  }

  private setOnline(online: boolean): void {
    if (this.online === online) return;
    this.online = online;
    if (this.identity) this.options.onChange();
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.options.clock.setTimeout(() => done(), ms);
      const done = (): void => {
        this.options.clock.clearTimeout(timer);
        if (this.wakeUp === done) this.wakeUp = undefined;
        resolve();
      };
      this.wakeUp = done;
    });
  }

  private wake(): void {
    this.wakeUp?.();
  }
}
